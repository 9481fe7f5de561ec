"""Export conversion read back by independent readers: rate, depth and channels; the soxr passband and
stopband at 48 kHz -> 16 kHz; TPDF dither only when the bit depth is reduced; segments and their frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fieldrec.dataset.params import ConvertParams, FeatureChoice, SegmentParams
from fieldrec.dataset.segment import SegmentError
from fieldrec.dataset.sources import load_take
from fieldrec.dataset.unit import TakeJob, export_take
from tests.dataset_takes import write_take
from tests.readers import ffprobe_info, sox_info


def run(take_path: Path, out: Path, **kw) -> dict:
    seg = kw.pop("segment", SegmentParams())
    job = TakeJob(take=load_take(take_path), out_dir=str(out), base_name=take_path.stem, split="train",
                  group=take_path.stem, label="", convert=ConvertParams(**kw), segment=seg,
                  features=kw.pop("features", FeatureChoice()))
    return export_take(job)


def test_rate_depth_channels_read_back_by_sox_and_ffprobe(tmp_path):
    take = write_take(tmp_path / "src", "stereo", seconds=1.5)
    res = run(take, tmp_path / "a", samplerate=16000, subtype="PCM_16", channels="mono")
    assert res["status"] == "done"
    out = tmp_path / "a" / res["outputs"][0]["path"]
    assert sox_info(out) == {"samplerate": 16000, "channels": 1, "frames": 24000}
    probe = ffprobe_info(out)
    assert (probe["samplerate"], probe["channels"], probe["codec"]) == (16000, 1, "pcm_s16le")
    res = run(take, tmp_path / "b", samplerate=22050, container="flac", subtype="PCM_24", channels="keep")
    out = tmp_path / "b" / res["outputs"][0]["path"]
    assert out.suffix == ".flac"
    probe = ffprobe_info(out)
    assert (probe["samplerate"], probe["channels"], probe["codec"]) == (22050, 2, "flac")
    assert sf.info(out).subtype == "PCM_24"


def test_split_and_chosen_channel_hold_the_source_channels(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.5, 0.5, (24000, 2))
    take = write_take(tmp_path / "src", "two", signal=x, subtype="FLOAT")
    res = run(take, tmp_path / "s", subtype="FLOAT", channels="split")
    paths = sorted(tmp_path / "s" / o["path"] for o in res["outputs"])
    assert [p.name for p in paths] == ["two_ch1.wav", "two_ch2.wav"]
    for c, p in enumerate(paths):
        y, rate = sf.read(p, dtype="float64")
        assert rate == 48000 and y.ndim == 1
        np.testing.assert_array_equal(y, x[:, c].astype(np.float32))
    res = run(take, tmp_path / "n", subtype="FLOAT", channels=2)
    y, _ = sf.read(tmp_path / "n" / res["outputs"][0]["path"], dtype="float64")
    np.testing.assert_array_equal(y, x[:, 1].astype(np.float32))
    res = run(take, tmp_path / "bad", channels=3)
    assert res["status"] == "failed" and "channel 3" in res["message"]


def _amplitudes(y: np.ndarray, freqs: list[int], rate: int) -> np.ndarray:
    """Amplitude of integer-Hz tones from a 1 s rectangular-window FFT of the middle (bins are exact)."""
    mid = y[len(y) // 2 - rate // 2 : len(y) // 2 + rate // 2]
    spec = np.abs(np.fft.rfft(mid)) * 2 / len(mid)
    return spec[np.array(freqs)]


def test_48k_to_16k_passband_flat_and_aliases_below_minus_100_db(tmp_path):
    rate, n = 48000, 3 * 48000
    t = np.arange(n) / rate
    passband = [100, 1000, 3000, 5000, 6000, 6500, 7000]
    x = sum(0.1 * np.sin(2 * np.pi * f * t) for f in passband)
    take = write_take(tmp_path / "src", "tones", signal=x[:, None], subtype="FLOAT")
    res = run(take, tmp_path / "p", samplerate=16000, subtype="FLOAT")
    y, out_rate = sf.read(tmp_path / "p" / res["outputs"][0]["path"], dtype="float64")
    assert out_rate == 16000
    gain_db = 20 * np.log10(_amplitudes(y, passband, 16000) / 0.1)
    assert np.max(np.abs(gain_db)) < 0.1, gain_db
    high = [8500, 10000, 15000, 20000]
    aliases = [16000 - 8500, 16000 - 10000, 16000 - 15000, 20000 - 16000]
    x = sum(0.2 * np.sin(2 * np.pi * f * t) for f in high)
    take = write_take(tmp_path / "src", "high", signal=x[:, None], subtype="FLOAT")
    res = run(take, tmp_path / "h", samplerate=16000, subtype="FLOAT")
    y, _ = sf.read(tmp_path / "h" / res["outputs"][0]["path"], dtype="float64")
    alias_db = 20 * np.log10(_amplitudes(y, aliases, 16000) / 0.2 + 1e-30)
    assert np.max(alias_db) < -100, alias_db


def test_dither_only_when_reducing_bit_depth(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.uniform(-0.3, 0.3, (16000, 1))
    # 24-bit source to 16 bit: TPDF dither, at most 1 LSB from plain rounding, and different from it
    t24 = write_take(tmp_path / "src", "deep", signal=x, rate=16000, subtype="PCM_24")
    res = run(t24, tmp_path / "d", subtype="PCM_16")
    assert res["outputs"][0]["conversion"]["dither"] == "tpdf_1lsb"
    q, _ = sf.read(tmp_path / "d" / res["outputs"][0]["path"], dtype="int16")
    src, _ = sf.read(t24, dtype="float64")
    plain = np.clip(np.rint(src * 32768), -32768, 32767)
    diff = q.astype(np.int64) - plain.astype(np.int64)
    assert np.max(np.abs(diff)) <= 1
    assert np.count_nonzero(diff) > len(diff) // 4
    # the same again: the same dither (seeded by the source's hash)
    res2 = run(t24, tmp_path / "d2", subtype="PCM_16")
    assert res2["outputs"][0]["sha256"] == res["outputs"][0]["sha256"]
    # 16-bit source to 16 and 24 bit at the same rate: no dither, the samples exactly
    t16 = write_take(tmp_path / "src", "shallow", signal=x, rate=16000, subtype="PCM_16")
    src16, _ = sf.read(t16, dtype="int16")
    for subtype in ("PCM_16", "PCM_24"):
        res = run(t16, tmp_path / subtype, subtype=subtype)
        assert res["outputs"][0]["conversion"]["dither"] is None
        q, _ = sf.read(tmp_path / subtype / res["outputs"][0]["path"], dtype="int32")
        np.testing.assert_array_equal(q, src16.astype(np.int32) << 16)  # read as int32: the 16 bits on top


@pytest.mark.parametrize("last, expect", [("drop", [16000, 16000]), ("keep", [16000, 16000, 8000]),
                                           ("pad", [16000, 16000, 16000])])
def test_windows_and_the_last_partial_window(tmp_path, last, expect):
    take = write_take(tmp_path / "src", "w", seconds=2.5, rate=16000, channels=1, subtype="PCM_16")
    res = run(take, tmp_path / last, segment=SegmentParams(mode="window", length_s=1, hop_s=1, last=last))
    outs = sorted(res["outputs"], key=lambda o: o["segment"]["index"])
    lengths = [sf.info(tmp_path / last / o["path"]).frames for o in outs]
    assert lengths == expect
    segs = [o["segment"] for o in outs]
    assert [(s["first_source_frame"], s["last_source_frame"]) for s in segs][:2] == [(0, 15999), (16000, 31999)]
    if last == "pad":
        assert segs[2]["padded_frames"] == 8000 and segs[2]["last_source_frame"] == 39999
        y, _ = sf.read(tmp_path / last / outs[2]["path"], dtype="int16")
        assert np.all(y[8000:] == 0)  # 16-bit source to 16 bit: no dither, so the pad is digital silence


def test_markers_label_files_and_events(tmp_path):
    rate = 16000
    x = np.zeros(3 * rate)
    t = np.arange(rate // 4) / rate
    for start in (rate // 2, 2 * rate):
        x[start : start + len(t)] = 0.5 * np.sin(2 * np.pi * 1000 * t)
    x += np.random.default_rng(3).normal(0, 1e-3, len(x))
    take = write_take(tmp_path / "src", "ev", signal=x[:, None], rate=rate, subtype="FLOAT",
                      markers=((8000, "bird"), (32000, "wind")))
    res = run(take, tmp_path / "m", subtype="FLOAT", segment=SegmentParams(mode="markers"))
    segs = sorted((o["segment"] for o in res["outputs"]), key=lambda s: s["index"])
    assert [(s["first_source_frame"], s["last_source_frame"], s["label"]) for s in segs] == [
        (8000, 31999, "bird"), (32000, 47999, "wind")]
    res = run(take, tmp_path / "e", subtype="FLOAT", segment=SegmentParams(mode="events", event_pad_s=0.05))
    segs = sorted((o["segment"] for o in res["outputs"]), key=lambda s: s["index"])
    assert len(segs) == 2
    for s, start in zip(segs, (8000, 32000), strict=True):
        assert abs(s["first_source_frame"] - (start - 800)) <= 320
        assert abs(s["last_source_frame"] - (start + 4000 + 800)) <= 320
    # an Audacity label track beside the take wins over the markers
    take.with_suffix(".txt").write_text("0.5\t1.0\tcall\n\\\t1000\t2000\n1.5\t2.25\tsong\n")
    res = run(take, tmp_path / "a", subtype="FLOAT", segment=SegmentParams(mode="markers"))
    segs = sorted((o["segment"] for o in res["outputs"]), key=lambda s: s["index"])
    assert [(s["first_source_frame"], s["out_frames"], s["label"]) for s in segs] == [
        (8000, 8000, "call"), (24000, 12000, "song")]
    take.with_suffix(".txt").unlink()
    raven = take.parent / "ev.Table.1.selections.txt"
    raven.write_text("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tSpecies\n"
                     "1\tSpectrogram 1\t1\t0.25\t0.75\twren\n")
    res = run(take, tmp_path / "r", subtype="FLOAT", segment=SegmentParams(mode="markers"))
    assert [(o["segment"]["first_source_frame"], o["label"]) for o in res["outputs"]] == [(4000, "wren")]
    raven.write_text("Selection\tBegin Time (s)\n1\tnot a number\n")
    with pytest.raises(SegmentError):
        from fieldrec.dataset.segment import marker_spans
        marker_spans(load_take(take), rate)
    res = run(take, tmp_path / "bad", subtype="FLOAT", segment=SegmentParams(mode="markers"))
    assert res["status"] == "failed" and "ev.Table.1.selections.txt" in res["message"]


def test_an_output_libsndfile_refuses_leaves_no_open_file(tmp_path):
    from fieldrec.dataset.convert import OutputFile

    with pytest.raises(ValueError):  # soundfile checks the format, subtype pair before libsndfile opens
        OutputFile(tmp_path / "x.flac", 16000, 1, ConvertParams(container="flac", subtype="FLOAT"))
    import gc
    gc.collect()  # an unclosed file would raise a ResourceWarning here (warnings are errors in this suite)
    (tmp_path / "x.flac").unlink()


@pytest.mark.parametrize("channels", [1, 2, 3, 7, 8, 12])
def test_mono_mix_is_the_mean_of_the_channels(channels: int) -> None:
    from fieldrec.dataset.convert import _pick

    block = np.random.default_rng(channels).normal(0, 0.3, (4099, channels)).astype(np.float32)
    block[:3] = -0.0
    mono = _pick(block, "mono")
    assert mono.dtype == np.float32 and mono.shape == (4099, 1)
    np.testing.assert_array_equal(mono, block.mean(axis=1, dtype=np.float32, keepdims=True))
