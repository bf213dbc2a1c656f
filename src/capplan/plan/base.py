"""The base of every plan model, and the "did you mean" helper its errors use."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

__all__ = ["Strict", "suggest"]


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


def suggest(word: str, choices: set[str] | list[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
