"""Similar submissions: every pair of students compared module by module with copydetect.

copydetect (Python, on PyPI) tokenises the code with Pygments, replaces every
identifier by one letter (`V` a variable, `F` a function, `S` a string) and
drops whitespace and comments, then compares winnowed fingerprints of 25
tokens (Moss's method). So renamed variables, reformatting and reordered
functions (fingerprints are a set) leave a copy as similar as it was; the
starter code (`exercises/<module>.py`) is boilerplate, so what the stub
already holds (docstrings, signatures) matches nobody and an untouched module
scores 0. Dolos does the same job but is a Node.js program; copydetect
installs with pip beside the grader.

The sources are the module files that `dlgrade grade --out` keeps in
`OUT/<id>/submission/` (`keep_sources`); notebooks are kept as the modules
exported from their code cells, which is what was graded.

A pair's similarity is the larger of copydetect's two fractions: how much of
one submission's own code (beyond the stub) is found in the other. It is a
lead for a person to read, never a verdict.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import shutil
from pathlib import Path

from grader.course import MODULES, module_files
from grader.errors import SubmissionError
from grader.system import write_atomically

SOURCES_FOLDER = "submission"  # OUT/<id>/submission/<module>.py
CSV_FILE = "similarity.csv"
STUBS = Path(__file__).resolve().parents[2] / "exercises"  # the course's starter code, the boilerplate
# A copy with renamed variables and reordered functions scores about 0.95. Honest
# work can score up to about 0.6: the stubs' hints name the API to use, so a
# student who follows them writes much of the reference's code (the reference
# against honest hand-written activations.py scored 0.00 to 0.59; honest
# students against each other, up to 0.26). 0.7 sits between the two.
THRESHOLD = 0.7
NOISE_TOKENS = 25  # copydetect's default k: matches shorter than this are noise
GUARANTEE_TOKENS = 25  # = NOISE_TOKENS: every fingerprint is kept (a winnowing window of 1); the files are small


@dataclasses.dataclass
class Pair:
    """Two students' versions of one module, compared."""

    id_a: str
    id_b: str
    module: str
    similarity: float  # the larger of the two fractions below
    fraction_a: float  # of a's own code (beyond the stub), the part found in b
    fraction_b: float
    code_a: str = ""  # for a pair above the threshold, a's code as HTML (escaped), the matches in <span>s
    code_b: str = ""


def keep_sources(jobs, out: Path, opened) -> list[str]:
    """Copy each submission's module files to `OUT/<id>/submission/`; return the ids whose sources were kept.

    `jobs` are `dlgrade grade`'s (`grader.engine.batch.identifiers`: an id
    and a path each) and `opened` opens one (`grader.engine.intake.opened`;
    the caller passes it, this layer does not import the engine). A
    submission that cannot be opened (it was not graded either) is left out.
    The copy is refreshed on every run, so it is the code as it is now.
    """
    kept = []
    for job in jobs:
        try:
            with opened(job.path) as submission:
                files = module_files(submission.folder)
                folder = out / job.identifier / SOURCES_FOLDER
                if folder.exists():
                    shutil.rmtree(folder)
                for name, file in files.items():
                    write_atomically(folder / f"{name}.py", file.read_bytes())
        except SubmissionError:
            continue
        kept.append(job.identifier)
    return kept


def sources(out: Path) -> dict[str, dict[str, Path]]:
    """id -> module -> the kept file, for every `OUT/<id>/submission/` under `out`."""
    found = {}
    for folder in sorted(path for path in out.iterdir() if (path / SOURCES_FOLDER).is_dir()):
        files = module_files(folder / SOURCES_FOLDER)
        if files:
            found[folder.name] = files
    return found


def compare(
    out: Path, modules: list[str] | None = None, threshold: float = THRESHOLD, stubs: Path = STUBS
) -> list[Pair]:
    """Every pair of students compared on each of `modules` (default: all), most similar first.

    Pairs above `threshold` carry their code with the matching parts
    highlighted. A student without the module's file is not compared on it.
    """
    import matplotlib

    matplotlib.use("Agg")  # copydetect imports pyplot; never a window
    from copydetect import CopyDetector

    by_student = sources(out)
    pairs: list[Pair] = []
    for module in modules or MODULES:
        owners = {files[module].resolve(): student for student, files in by_student.items() if module in files}
        if len(owners) < 2:
            continue
        detector = CopyDetector(
            noise_t=NOISE_TOKENS,
            guarantee_t=GUARANTEE_TOKENS,
            display_t=threshold,
            force_language="python",
            same_name_only=True,
            autoopen=False,
            silent=True,
            truncate=True,
        )
        for file in owners:
            detector.add_file(str(file))
        stub = stubs / f"{module}.py"
        if stub.is_file():
            detector.add_file(str(stub), type="boilerplate")
        detector.run()
        files = [Path(file) for file in detector.test_files]
        # For the pairs above the threshold copydetect gives each side's code as HTML, escaped, the
        # matching parts in <span class='highlight-red'> (one side) and 'highlight-green' (the other).
        highlighted = {
            frozenset((first, second)): {Path(first): code_first, Path(second): code_second}
            for _, _, first, second, code_first, code_second, _ in detector.get_copied_code_list()
        }
        for i, j in itertools.combinations(range(len(files)), 2):
            fraction_i, fraction_j = (float(value) for value in detector.similarity_matrix[i, j])
            if min(fraction_i, fraction_j) < 0:
                continue  # copydetect could not read one of them (not UTF-8): not compared
            (a, file_a, fraction_a), (b, file_b, fraction_b) = sorted(
                ((owners[files[i]], files[i], fraction_i), (owners[files[j]], files[j], fraction_j))
            )
            pair = Pair(a, b, module, max(fraction_a, fraction_b), fraction_a, fraction_b)
            codes = highlighted.get(frozenset((str(file_a), str(file_b))), {})
            pair.code_a, pair.code_b = codes.get(file_a, ""), codes.get(file_b, "")
            pairs.append(pair)
    pairs.sort(key=lambda pair: (-pair.similarity, MODULES.index(pair.module), pair.id_a, pair.id_b))
    return pairs


def write_csv(pairs: list[Pair], out: Path) -> Path:
    """`OUT/similarity.csv`: id_a,id_b,module,similarity for every pair compared, highest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id_a", "id_b", "module", "similarity"])
    for pair in pairs:
        writer.writerow([pair.id_a, pair.id_b, pair.module, f"{pair.similarity:.3f}"])
    write_atomically(out / CSV_FILE, buffer.getvalue())
    return out / CSV_FILE
