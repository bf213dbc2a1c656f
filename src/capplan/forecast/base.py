"""The estimator contract of forecast models, and the registry of models by name.

A model takes its parameters in ``__init__``; ``fit(y)`` learns from a right-aligned panel
``y`` of shape ``(n_series, T)`` (NaN = not started yet, or a gap) and returns ``self``;
learned state lives in attributes ending in ``_``; ``predict(h)`` returns ``(n_series, h)``.
Everything is batched over series.

Common behaviour of ``predict`` (documented once, here):

- an all-NaN series gets a NaN forecast (and a warning at fit time);
- a series whose whole history is >= 0 gets its forecast clipped at 0 (capacity metrics
  — CPU, bytes, requests — cannot go negative);
- a model that cannot forecast some series (too little data) falls back to its last value.

``long_range`` says whether a model's forecast far past its backtests is sound — a level or a
trend plus a seasonal profile — rather than the last value or the last season repeated:
``auto`` extrapolates only with such models.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from capplan._types import Array, BoolArray, IndexArray
from capplan.errors import ForecastError
from capplan.forecast._panel import as_panel, format_issues, last_valid
from capplan.forecast.seasons import Seasons, resolve_seasons
from capplan.registry import Registry

if TYPE_CHECKING:
    from capplan.forecast.schedule import Schedule

__all__ = ["MODELS", "Forecaster", "make_model"]


class Forecaster(ABC):
    """Base of every forecast model (see the module docstring for the contract)."""

    #: the registry name; set by each model
    name: str = ""
    #: whether the forecast stays sound far past the backtested lead times
    long_range: ClassVar[bool] = False

    n_series_: int
    n_steps_: int
    step_seconds_: int
    seasons_: Seasons
    issues_: list[tuple[str, IndexArray]]
    empty_: BoolArray
    nonneg_: BoolArray
    last_: Array

    @classmethod
    def _param_names(cls) -> list[str]:
        return list(_param_names(cls))

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters and their current values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change parameters by name; an unknown name is an error."""
        known = self._param_names()
        for key, value in params.items():
            if key not in known:
                raise ForecastError(
                    f"{type(self).__name__} has no parameter '{key}'; expected one of {known}"
                )
            setattr(self, key, value)
        return self

    def clone(self) -> Self:
        """An unfitted copy with the same parameters."""
        return type(self)(**self.get_params())

    @property
    def label(self) -> str:
        """``name(param=value, ...)`` listing the parameters that differ from the defaults."""
        sig = inspect.signature(type(self).__init__)
        diff = [
            f"{k}={v}"
            for k, v in self.get_params().items()
            if sig.parameters[k].default is inspect.Parameter.empty
            or sig.parameters[k].default != v
        ]
        return f"{self.name}({', '.join(diff)})" if diff else self.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def fit(
        self,
        y: npt.ArrayLike,
        *,
        step_seconds: int = 3600,
        seasons: Seasons | Sequence[int] | None = None,
    ) -> Self:
        """Learn from the panel ``y``; seasons are detected from the data and step when not
        given (a sequence of periods, or a :class:`Seasons` from an earlier detection)."""
        self._fit(self._prepare(y, step_seconds, seasons))
        return self

    def _prepare(
        self, y: npt.ArrayLike, step_seconds: int, seasons: Seasons | Sequence[int] | None
    ) -> Array:
        """Validate ``y`` and set the state every model shares; return the panel."""
        arr = as_panel(y)
        self.n_series_, self.n_steps_ = arr.shape
        self.step_seconds_ = int(step_seconds)
        self.seasons_ = resolve_seasons(arr, self.step_seconds_, seasons)
        self.empty_ = np.asarray(np.isnan(arr).all(axis=1), dtype=np.bool_)
        with np.errstate(invalid="ignore"):
            self.nonneg_ = ~(arr < 0).any(axis=1) & ~self.empty_
        self.last_ = last_valid(arr)
        self.issues_ = []
        self._warn("series {series} have no observations: NaN forecast", self.empty_)
        for text, rows in self.seasons_.issues():
            self._warn(text, rows)
        return arr

    def _warn(self, text: str, series: BoolArray | IndexArray) -> None:
        """Record a problem affecting ``series`` (a mask or indices); ``text`` names them with
        ``{series}``. Nothing is recorded for an empty selection."""
        rows = np.flatnonzero(series) if series.dtype == np.bool_ else np.asarray(series)
        if rows.size:
            self.issues_.append((text, rows.astype(np.intp)))

    @property
    def warnings_(self) -> list[str]:
        """The recorded problems in words, naming the series by index."""
        return format_issues(self.issues_)

    def predict(self, h: int) -> Array:
        """Point forecasts for steps 1..h after the last column, ``(n_series, h)``."""
        if not hasattr(self, "n_series_"):
            raise ForecastError(f"{type(self).__name__} is not fitted: call fit(y) first")
        if int(h) < 1:
            raise ForecastError(f"horizon h must be >= 1, got {h}")
        f = np.asarray(self._predict(int(h)), dtype=np.float64)
        return self._finish(f)

    def _finish(self, f: Array) -> Array:
        bad = np.isnan(f)
        if bad.any():
            f = np.where(bad, self.last_[:, None], f)
        if self.nonneg_.all():
            np.maximum(f, 0.0, out=f)
        elif self.nonneg_.any():
            np.maximum(f, 0.0, out=f, where=self.nonneg_[:, None])
        if self.empty_.any():
            f[self.empty_] = np.nan
        return f

    def fit_backtest(
        self,
        y: npt.ArrayLike,
        h: int,
        origins: Sequence[int],
        *,
        step_seconds: int = 3600,
        seasons: Seasons | Sequence[int] | None = None,
    ) -> Array:
        """Fit on all of ``y`` and return the forecasts made from each rolling origin ``o``
        (trained on ``y[:, :o]``), shape ``(n_series, len(origins), h)``.

        The default refits a clone per origin (a loop over origins, batched over series);
        models that can read every origin off one pass override ``_fit_backtest``."""
        return self._fit_backtest(self._prepare(y, step_seconds, seasons), int(h), origins)

    def fit_schedule(
        self,
        y: npt.ArrayLike,
        schedule: Schedule,
        long: bool,
        *,
        step_seconds: int = 3600,
        seasons: Seasons | Sequence[int] | None = None,
    ) -> tuple[Array, Array | None]:
        """Fit on all of ``y`` and return the backtest forecasts of the short schedule
        ``(n, W, H_s)`` and, when ``long``, of the long one ``(n, W_l, H_l)``."""
        return self._fit_schedule(self._prepare(y, step_seconds, seasons), schedule, long)

    def _fit_schedule(self, y: Array, schedule: Schedule, long: bool) -> tuple[Array, Array | None]:
        """``fit_schedule`` on a prepared panel: one backtest over both schedules' origins
        to the longer horizon, split afterwards."""
        hs, short = schedule.short_h, list(schedule.short_origins)
        longs = list(schedule.long_origins or []) if long else []
        h = schedule.long_h if longs else hs
        cv = self._fit_backtest(y, h, [*short, *longs])
        return cv[:, : len(short), :hs], (cv[:, len(short) :] if longs else None)

    def _fit_backtest(self, y: Array, h: int, origins: Sequence[int]) -> Array:
        """``fit_backtest`` on a prepared panel."""
        self._fit(y)
        out = np.full((y.shape[0], len(origins), h), np.nan)
        for w, o in enumerate(origins):
            model = self.clone()
            model._fit(model._prepare_origin(self, y[:, :o]))
            out[:, w] = model.predict(h)
        return out

    def _adopt(self, other: Forecaster) -> None:
        """Take the shared state of ``other``, prepared on the same panel (no re-validation)."""
        self.n_series_, self.n_steps_ = other.n_series_, other.n_steps_
        self.step_seconds_ = other.step_seconds_
        self.seasons_ = other.seasons_
        self.empty_, self.nonneg_, self.last_ = other.empty_, other.nonneg_, other.last_
        self.issues_ = []

    def _prepare_origin(self, full: Forecaster, train: Array) -> Array:
        """Shared state for a backtest fit on ``train`` (the first columns of the panel
        ``full`` was fitted on), derived from ``full`` instead of re-validated."""
        self.n_series_, self.n_steps_ = train.shape
        self.step_seconds_ = full.step_seconds_
        self.seasons_ = full.seasons_.truncate(full.n_steps_ - train.shape[1])
        self.empty_ = self.seasons_.span == 0
        self.nonneg_ = full.nonneg_ & ~self.empty_
        self.last_ = last_valid(train)
        self.issues_ = []
        return train

    @abstractmethod
    def _fit(self, y: Array) -> None:
        """Learn from the validated panel (``seasons_`` etc. are already set)."""

    @abstractmethod
    def _predict(self, h: int) -> Array:
        """Raw forecasts ``(n, h)``; ``predict`` applies the common rules afterwards."""


@functools.cache
def _param_names(cls: type[Forecaster]) -> tuple[str, ...]:
    sig = inspect.signature(cls.__init__)
    return tuple(
        p.name
        for p in sig.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )


MODELS: Registry[type[Forecaster]] = Registry("forecast model")


def make_model(name: str, **params: Any) -> Forecaster:
    """An instance of the model registered as ``name``; an unknown name lists the known ones."""
    return MODELS.get(name)(**params)


def check_period(period: int | None) -> None:
    """Validate an explicit seasonal period parameter."""
    if period is not None and int(period) < 2:
        raise ForecastError(f"period must be an integer >= 2, got {period}")
