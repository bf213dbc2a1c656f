"""The base of every plan model, the "did you mean" helper its errors use, and the refusal of
secrets written inline where a generated configuration would carry them."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

__all__ = ["Strict", "refuse_inline_secrets", "suggest"]


class Strict(BaseModel):
    """Base of every plan model: unknown fields are errors that suggest the closest known one."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _note_unknown_fields(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and isinstance(info.context, dict):
            allowed = {f.alias or name for name, f in cls.model_fields.items()}
            notes = info.context.setdefault("unknown_fields", {})
            for key in data:
                if isinstance(key, str) and key not in allowed:
                    notes.setdefault(key, set()).update(allowed)
        return data


def refuse_inline_secrets(data: Any, secrets: dict[str, str], written: str, reader: str) -> Any:
    """``data`` as it is, unless it holds a key of ``secrets`` (secret → the ``*_file`` field
    to give instead): that would put the secret into the plan and the generated ``written``
    file, which ``reader`` reads the file field's path instead."""
    if isinstance(data, dict):
        for key, instead in secrets.items():
            if key in data:
                raise ValueError(
                    f"'{key}' would write a secret into the plan and the generated {written}; "
                    f"give '{instead}', the path of a file holding it, which {reader}"
                )
    return data


def suggest(word: str, choices: set[str] | list[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
