"""Offline speech for tests and benchmarks: synthesize requests with Festival, recognize them
with pocketsphinx using a language model built from the bot's own sentences.

Measured on these machines (FIELD-NOTES): pocketsphinx's general English model has a word error
rate of about 0.3 on Festival voices; a trigram model built with pocketsphinx's ArpaBoLM from
the NLU examples and catalog phrases, with the dictionary cut to that vocabulary, brings it to
a few percent. Nothing is downloaded: the acoustic model ships in the pocketsphinx wheel and
the voices are Debian packages (festival, festvox-kallpc16k, festvox-us-slt-hts).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz.distance import Levenshtein

from shop.config import PROJECT_ROOT

#: Festival voices (Debian packages festvox-kallpc16k and festvox-us-slt-hts).
VOICES = {"kal": "(voice_kal_diphone)", "slt": "(voice_cmu_us_slt_arctic_hts)"}
NLU_DIR = PROJECT_ROOT / "bot" / "data" / "nlu"
NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve".split()
#: Phrases the bot hears about any product; every spoken catalog name is put into each.
PRODUCT_FRAMES = (
    "order {}", "add {}", "add two {}", "we need {}", "get {}", "buy {}", "remove the {}",
    "how much is {}", "when did i last buy {}", "stop reminding me about {}", "i want {}",
)  # fmt: skip


def normalize(text: str) -> str:
    """Lower case, digits as words (0-12), entity markup and punctuation removed."""
    text = re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", text.lower())
    text = re.sub(r"\b(\d|1[0-2])\b", lambda m: NUMBERS[int(m.group(1))], text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    return " ".join(text.split())


def training_sentences(catalog_names: Iterable[str], nlu_dir: Path = NLU_DIR) -> list[str]:
    """The bot's own NLU examples plus each catalog name in the usual product frames."""
    out: list[str] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip().removeprefix("- ")
                if line:
                    out.append(normalize(line))
    for name in sorted({normalize(n) for n in catalog_names}):
        out += [frame.format(name) for frame in PRODUCT_FRAMES]
    return [s for s in out if s]


@dataclass(frozen=True)
class SpeechModel:
    lm: Path
    dictionary: Path
    vocabulary: int
    unpronounceable: tuple[str, ...]  # words of the corpus missing from the dictionary


def build_model(sentences: list[str], out_dir: Path) -> SpeechModel:
    """A trigram ARPA model (pocketsphinx's ArpaBoLM) over the sentences, and the CMU
    dictionary cut to their words. Sentences with a word the dictionary lacks are dropped:
    the recognizer could not say that word anyway."""
    from pocketsphinx import get_model_path
    from pocketsphinx.lm import ArpaBoLM

    pronunciations: dict[str, list[str]] = {}
    with open(Path(get_model_path()) / "en-us" / "cmudict-en-us.dict", encoding="utf-8") as f:
        for line in f:
            word = line.split(" ", 1)[0]
            pronunciations.setdefault(re.sub(r"\(\d+\)$", "", word), []).append(line)
    words = {w for s in sentences for w in s.split()}
    missing = tuple(sorted(w for w in words if w not in pronunciations))
    kept = [s for s in sentences if not set(s.split()) & set(missing)]
    out_dir.mkdir(parents=True, exist_ok=True)
    lm = ArpaBoLM(add_start=True, case="lower")
    from io import StringIO

    lm.read_corpus(StringIO("\n".join(kept)))
    lm.compute()
    lm_path = out_dir / "dash.lm"
    lm.write_file(str(lm_path))
    vocab = sorted({w for s in kept for w in s.split()})
    dict_path = out_dir / "dash.dict"
    dict_path.write_text("".join(line for w in vocab for line in pronunciations[w]), "utf-8")
    return SpeechModel(lm_path, dict_path, len(vocab), missing)


class Recognizer:
    def __init__(self, model: SpeechModel) -> None:
        from pocketsphinx import Decoder, get_model_path

        self.decoder = Decoder(
            hmm=str(Path(get_model_path()) / "en-us" / "en-us"),
            lm=str(model.lm),
            dict=str(model.dictionary),
            loglevel="FATAL",
        )

    def recognize(self, wav_path: Path) -> str:
        with wave.open(str(wav_path), "rb") as audio:
            if (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) != (16000, 1, 2):
                raise ValueError(f"{wav_path}: need 16 kHz mono 16-bit audio")
            pcm = audio.readframes(audio.getnframes())
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp else ""


def synthesize(text: str, voice: str, out: Path) -> Path:
    """16 kHz mono WAV of ``text`` in a Festival voice (key of VOICES)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text + "\n")
    try:
        subprocess.run(
            [
                "text2wave",
                "-eval",
                VOICES[voice],
                "-F",
                "16000",
                "-otype",
                "riff",
                "-o",
                str(out),
                f.name,
            ],  # fmt: skip
            check=True,
            capture_output=True,
            timeout=60,
        )
    finally:
        Path(f.name).unlink(missing_ok=True)
    return out


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words): sum both over a set and divide for the WER."""
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    return Levenshtein.distance(ref, hyp), len(ref)
