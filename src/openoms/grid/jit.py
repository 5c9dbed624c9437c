"""Numba kernels that run compiled only when that pays: :class:`LazyKernels`.

A kernel is written once, as Python over arrays in the subset numba compiles. It runs either as
numba's machine code (``njit(cache=True, nogil=True)``, numba imported only then) or as the
Python function itself on memoryviews of the arrays ("interpreted": about a microsecond per
element, nothing to start). Loading numba and its cached machine code costs about a second
(numba's import, its target initialisation, scipy's BLAS check): more than a command answering
one question on a county (a few thousand elements) spends interpreted.

Per call, in the default mode ``"auto"``: compiled once numba is in the process anyway (the
service after ``openoms warm-up``, any engine that needed it), or when the interpreted work of
the process would pass :data:`INTERPRETED_BUDGET` elements (a large network, or a process
answering many questions: it then loads numba once); interpreted otherwise. The answers are
the same (the tests run both paths on random cases). :func:`kernel_mode` forces one path.

Kernels may call kernels: the compiled ones see each other's dispatchers (each is compiled from
a copy of its function whose globals name the dispatchers), the interpreted ones the lazy
kernels. The interpreted ones take ``exp`` and ``log`` of a number from the C library, as
numba's code does, so that both paths give the same floats, not only close ones. No I/O;
numba's on-disk cache is numba's.
"""

from __future__ import annotations

import math
import sys
import threading
import types
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Final, Literal, TypeVar, cast

import numpy as np

__all__ = ["INTERPRETED_BUDGET", "LazyKernels", "Mode", "kernel_mode", "runs_compiled"]

# Elements (zones, nodes, reports) a process runs interpreted before it loads numba: about
# 0.2 s of Python, a fifth of what loading numba costs.
INTERPRETED_BUDGET: Final = 150_000

Mode = Literal["auto", "compiled", "interpreted"]
_F = TypeVar("_F", bound=Callable[..., Any])


class _State:
    """The process-wide choice: the mode and the interpreted work done so far."""

    mode: Mode = "auto"
    interpreted = 0
    lock: Final = threading.Lock()


@contextmanager
def kernel_mode(mode: Mode) -> Iterator[None]:
    """Run every lazy kernel ``mode`` inside the block (tests and benchmarks): ``"compiled"``
    (numba), ``"interpreted"`` (the Python source) or ``"auto"`` (the default, see the module)."""
    if mode not in ("auto", "compiled", "interpreted"):
        raise ValueError(f"kernel mode {mode!r}: use auto, compiled or interpreted")
    before = _State.mode
    _State.mode = mode
    try:
        yield
    finally:
        _State.mode = before


def _memoryview(value: Any) -> Any:
    """A 1-D array argument as a memoryview (indexing gives Python numbers: several times
    faster than numpy's scalars), a tuple of them as a tuple of memoryviews, anything else as
    it is (a 2-D array stays numpy: a memoryview has no rows, ``state[FEEDER]``)."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return memoryview(cast(Any, value))
    if isinstance(value, tuple):
        return tuple(map(_memoryview, value))
    return value


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x: float) -> float:
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


class _Libm:
    """``np`` as the interpreted kernels see it: numpy, but ``exp`` and ``log`` of a number
    from the C library, which numba's machine code calls too (numpy's own vectorised ones
    differ in the last bit now and then), so that both paths give equal floats."""

    exp = staticmethod(_exp)
    log = staticmethod(_log)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


class _LazyKernel:
    """One kernel: numba's dispatcher once compiled, else its Python function.

    ``py_func``, ``stats`` and ``signatures`` as on a numba dispatcher (``openoms warm-up``
    reads them to tell whether machine code is cached; ``stats`` loads numba).
    """

    def __init__(self, owner: LazyKernels, fn: Callable[..., Any], work: Callable[..., int]):
        self.py_func = fn
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        self._owner = owner
        self._work = work
        self.dispatcher: Any = None
        self._interpreted: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        dispatcher = self.dispatcher
        if dispatcher is not None and _State.mode != "interpreted":
            return dispatcher(*args)
        if self._owner.interpret(self._work(*args)):
            function = self._interpreted or self._interpreted_function()
            return function(*map(_memoryview, args))
        self._owner.compile()
        return cast(Any, self.dispatcher)(*args)

    def _interpreted_function(self) -> Callable[..., Any]:
        """The kernel's function with ``np`` as :class:`_Libm` in its globals."""
        fn = self.py_func
        namespace = dict(self._owner.namespace)
        namespace["np"] = _Libm()
        twin = _twin(fn, namespace)
        self._interpreted = twin
        return twin

    @property
    def stats(self) -> Any:
        self._owner.compile()
        return self.dispatcher.stats

    @property
    def signatures(self) -> list[Any]:
        """The argument types compiled so far (none before numba is loaded)."""
        return [] if self.dispatcher is None else list(self.dispatcher.signatures)


class LazyKernels:
    """The kernels of one module, handed to numba on first need (see the module's text).

    Made with the module's ``globals()``; decorate each kernel with the instance (or with
    :meth:`weighing` to say how many elements a call touches: by default the length of its
    first argument); :meth:`compile` loads numba for all of them.
    """

    def __init__(self, namespace: MutableMapping[str, Any]) -> None:
        self.kernels: list[_LazyKernel] = []
        self.namespace = namespace  # the module's globals
        self._lock = threading.Lock()

    def __call__(self, fn: _F) -> _F:
        """A kernel whose work is the length of its first argument."""
        return self.weighing(_first_length)(fn)

    def weighing(self, work: Callable[..., int]) -> Callable[[_F], _F]:
        """A kernel whose work is ``work(*args)``."""

        def wrap(function: _F) -> _F:
            kernel = _LazyKernel(self, function, work)
            self.kernels.append(kernel)
            return cast(_F, kernel)

        return wrap

    @property
    def compiled(self) -> bool:
        return all(k.dispatcher is not None for k in self.kernels)

    def interpret(self, work: int) -> bool:
        """Whether a call touching ``work`` elements runs interpreted (and counts it)."""
        mode = _State.mode
        if mode != "auto":
            return mode == "interpreted"
        if "numba" in sys.modules:  # loaded anyway: its machine code is the faster
            return False
        with _State.lock:
            if _State.interpreted + work > INTERPRETED_BUDGET:
                return False
            _State.interpreted += work
        return True

    def compile(self) -> None:
        """Import numba and make a (disk-cached) dispatcher of every kernel; machine code is
        loaded or compiled per argument types at each kernel's first compiled call."""
        if self.compiled:
            return
        with self._lock:
            if self.compiled:
                return
            from numba import njit  # noqa: PLC0415  (a second with its start: only when needed)

            # the compiled kernels call each other's dispatchers: copies of the functions
            # whose globals are the module's with the kernels' names bound to them
            namespace = dict(self.namespace)
            for kernel in self.kernels:
                fn = kernel.py_func
                namespace[fn.__name__] = njit(cache=True, nogil=True)(_twin(fn, namespace))
            for kernel in self.kernels:
                kernel.dispatcher = namespace[kernel.py_func.__name__]


def runs_compiled(work: int) -> bool:
    """Whether a kernel call touching ``work`` elements would run numba's machine code now
    (without counting it): lets a command say it is loading numba before it does."""
    if _State.mode != "auto":
        return _State.mode == "compiled"
    return "numba" in sys.modules or _State.interpreted + work > INTERPRETED_BUDGET


def _twin(fn: Callable[..., Any], namespace: dict[str, Any]) -> Callable[..., Any]:
    """``fn`` with other globals."""
    twin = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
    twin.__qualname__, twin.__module__, twin.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    return twin


def _first_length(*args: Any) -> int:
    return len(args[0])
