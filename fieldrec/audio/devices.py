"""Input devices by name: listing, resolving a user's device spec, checking settings.

Naming rules (``resolve_device``): ``None`` is the system default input (the simulated source when there is
no input or no PortAudio); ``"simulated"`` is the simulated source; otherwise a case-insensitive name match,
where an exact name wins over a substring and a substring must be unique; an integer index (or a numeric
string that matches no name) is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

SIMULATED = "simulated"
COMMON_RATES = (44100, 48000, 88200, 96000, 176400, 192000)
SAMPLE_TYPES = ("int16", "int32", "float32")
SIM_RATE_RANGE = (8000, 384000)
SIM_MAX_CHANNELS = 32


class DeviceError(Exception):
    """A device could not be found or does not accept the requested settings (one-line message)."""


@dataclass(frozen=True)
class DeviceInfo:
    """One input device. ``index`` is PortAudio's device index, -1 for the simulated source."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    default_samplerate: float

    @property
    def is_simulated(self) -> bool:
        return self.index == -1


SIMULATED_DEVICE = DeviceInfo(-1, SIMULATED, "fieldrec", SIM_MAX_CHANNELS, 48000.0)

_sd_module: ModuleType | None = None
_sd_error: str | None = None


def portaudio() -> ModuleType:
    """The imported ``sounddevice`` module; raises DeviceError when PortAudio is missing."""
    global _sd_module, _sd_error
    if _sd_module is not None:
        return _sd_module
    if _sd_error is None:
        try:
            import sounddevice

            _sd_module = sounddevice
            return sounddevice
        except OSError as exc:
            _sd_error = (f"PortAudio is not available ({exc}); install libportaudio2 "
                         "(Debian/Ubuntu: apt install libportaudio2) or use the simulated device")
    raise DeviceError(_sd_error)


def portaudio_available() -> bool:
    try:
        portaudio()
    except DeviceError:
        return False
    return True


def refresh() -> None:
    """Re-scan devices (PortAudio lists them once, at initialisation). Do not call while a stream is open."""
    if not portaudio_available():
        return
    sd = portaudio()
    sd._terminate()
    sd._initialize()


def list_input_devices(include_simulated: bool = True) -> list[DeviceInfo]:
    """All devices with at least one input channel, in PortAudio's order; the simulated source last."""
    out: list[DeviceInfo] = []
    if portaudio_available():
        sd = portaudio()
        hostapis = sd.query_hostapis()
        for i, d in enumerate(sd.query_devices()):
            if d["max_input_channels"] > 0:
                out.append(DeviceInfo(i, str(d["name"]), str(hostapis[d["hostapi"]]["name"]),
                                      int(d["max_input_channels"]), float(d["default_samplerate"])))
    if include_simulated:
        out.append(SIMULATED_DEVICE)
    return out


def default_input() -> DeviceInfo:
    """The system default input device, or the simulated source if there is none."""
    if not portaudio_available():
        return SIMULATED_DEVICE
    sd = portaudio()
    try:
        d = sd.query_devices(kind="input")
    except (sd.PortAudioError, ValueError):
        return SIMULATED_DEVICE
    for dev in list_input_devices(include_simulated=False):
        if dev.index == d["index"]:
            return dev
    return SIMULATED_DEVICE


def _describe(devs: list[DeviceInfo]) -> str:
    return ", ".join(f"{d.index}: '{d.name}'" for d in devs) or "(none)"


def resolve_device(spec: str | int | None) -> DeviceInfo:
    """Find the input device the user means (see the module docstring for the rules)."""
    if spec is None:
        return default_input()
    if isinstance(spec, str) and spec.strip().lower() == SIMULATED:
        return SIMULATED_DEVICE
    return match_device(spec, list_input_devices(include_simulated=False))


def match_device(spec: str | int, devices: list[DeviceInfo]) -> DeviceInfo:
    """Apply the naming rules to ``spec`` over ``devices`` (``"simulated"`` and -1 are always known)."""
    if isinstance(spec, str) and spec.strip().lower() == SIMULATED:
        return SIMULATED_DEVICE
    if isinstance(spec, int):
        return _by_index(spec, devices)
    text = spec.strip().lower()
    if not text:
        raise DeviceError("empty device name; run 'fieldrec devices' to list the inputs")
    exact = [d for d in devices if d.name.lower() == text]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [d for d in devices if text in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise DeviceError(f"device name '{spec}' is ambiguous; matches {_describe(matches)} "
                          "- give more of the name or the index")
    if text.lstrip("-").isdigit():
        return _by_index(int(text), devices)
    raise DeviceError(f"no input device matches '{spec}'; inputs are {_describe(devices)} "
                      f"and '{SIMULATED}'")


def _by_index(index: int, devices: list[DeviceInfo]) -> DeviceInfo:
    if index == -1:
        return SIMULATED_DEVICE
    for d in devices:
        if d.index == index:
            return d
    raise DeviceError(f"no input device has index {index}; inputs are {_describe(devices)} "
                      f"and '{SIMULATED}'")


def supported_rates(dev: DeviceInfo, channels: int = 1, dtype: str = "float32") -> list[int]:
    """Which of the common rates (44100…192000 Hz) the device accepts with these channels and type."""
    if dev.is_simulated:
        return [r for r in COMMON_RATES if SIM_RATE_RANGE[0] <= r <= SIM_RATE_RANGE[1]]
    sd = portaudio()
    ok = []
    for r in COMMON_RATES:
        try:
            sd.check_input_settings(device=dev.index, channels=channels, dtype=dtype, samplerate=r)
        except (sd.PortAudioError, ValueError):
            continue
        ok.append(r)
    return ok


def _hz(samplerate: float) -> str:
    """A rate for messages: 48000, not 48000.0 or 4.8e+04."""
    return f"{samplerate:.0f}" if float(samplerate).is_integer() else f"{samplerate}"


def check_input_settings(dev: DeviceInfo, samplerate: float, channels: int, dtype: str) -> None:
    """Raise DeviceError (saying what the device supports) unless it can capture with these settings.

    ``samplerate`` in Hz, ``channels`` count, ``dtype`` one of int16, int32, float32.
    """
    if dtype not in SAMPLE_TYPES:
        raise DeviceError(f"sample type '{dtype}' is not supported; use one of {', '.join(SAMPLE_TYPES)}")
    if channels < 1:
        raise DeviceError(f"channel count must be at least 1, not {channels}")
    if dev.is_simulated:
        lo, hi = SIM_RATE_RANGE
        if not lo <= samplerate <= hi:
            raise DeviceError(f"the simulated device supports rates {lo}-{hi} Hz, not {_hz(samplerate)}")
        if channels > SIM_MAX_CHANNELS:
            raise DeviceError(f"the simulated device supports at most {SIM_MAX_CHANNELS} channels, not {channels}")
        return
    sd = portaudio()
    try:
        sd.check_input_settings(device=dev.index, channels=channels, dtype=dtype, samplerate=samplerate)
        return
    except (sd.PortAudioError, ValueError) as exc:
        reason = str(exc).split("\n")[0]
    usable = max(1, min(channels, dev.max_input_channels))
    rates = supported_rates(dev, usable, dtype)
    rate_text = ", ".join(str(r) for r in rates) if rates else "none of 44100-192000"
    hz = _hz(samplerate)
    what = (f"{channels} channels" if channels > dev.max_input_channels
            else f"{hz} Hz with {channels} channels" if samplerate not in rates
            else f"{channels} channels of {dtype} at {hz} Hz")
    raise DeviceError(f"device '{dev.name}' cannot capture {what} ({reason}); it supports at most "
                      f"{dev.max_input_channels} input channels; rates: {rate_text}")


@dataclass(frozen=True)
class OutputDevice:
    """A PortAudio device with output channels (headphone monitor, review playback)."""

    index: int
    name: str
    hostapi: str
    max_output_channels: int
    default_samplerate: float


def list_output_devices() -> list[OutputDevice]:
    """Every PortAudio device with output channels, in PortAudio's order (DeviceError when it is missing)."""
    sd = portaudio()
    apis = sd.query_hostapis()
    return [OutputDevice(i, str(d["name"]), str(apis[d["hostapi"]]["name"]), int(d["max_output_channels"]),
                         float(d["default_samplerate"]))
            for i, d in enumerate(sd.query_devices()) if d["max_output_channels"] > 0]


def resolve_output_device(spec: str | int | None) -> OutputDevice:
    """An output by exact name (case-insensitive), unique part of a name, or index; None or "" is the default
    output (the first output where the host API names none). Raises DeviceError naming the choices."""
    devices = list_output_devices()
    if not devices:
        raise DeviceError("no output device found; connect headphones or speakers")
    if spec is None or spec == "":
        sd = portaudio()
        default = int(sd.query_hostapis(sd.default.hostapi)["default_output_device"])
        return next((d for d in devices if d.index == default), devices[0])
    text = str(spec).strip()
    exact = [d for d in devices if d.name.casefold() == text.casefold()]
    found = exact or [d for d in devices if text.casefold() in d.name.casefold()]
    if len(found) == 1 or exact:
        return found[0]
    if isinstance(spec, int) or text.isdigit():
        for d in devices:
            if d.index == int(text):
                return d
    names = ", ".join(f"{d.index}: {d.name!r}" for d in (found or devices))
    if found:
        raise DeviceError(f"output {text!r} is ambiguous; matches {names}")
    raise DeviceError(f"no output device matches {text!r}; outputs are {names}")
