"""The README's examples run and print what the README says they print."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    text = README.read_text()
    return re.findall(r"```(\w*)\n(.*?)```", text, re.S)


def _examples():
    blocks = _blocks()
    out = []
    for i, (lang, code) in enumerate(blocks):
        if lang == "python" and i + 1 < len(blocks) and blocks[i + 1][0] == "":
            out.append((code, blocks[i + 1][1]))
    return out


def test_readme_examples_print_what_they_claim():
    examples = _examples()
    assert len(examples) >= 2
    namespace: dict = {}  # the examples build on each other, as in one notebook
    for code, expected in examples:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(code, "README.md", "exec"), namespace)
        assert buf.getvalue() == expected, code


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    assert first_block.splitlines()[0].startswith("make lab")
    assert first_block.splitlines()[1].startswith("make test")
    assert "make test" in (README.parent / ".ci" / "run").read_text()


ZH_READMES = [README.with_name("README.zh.md"), README.parent / "notebooks" / "README.zh.md"]


def test_chinese_readmes_start_with_the_two_commands():
    for path in ZH_READMES:
        text = path.read_text(encoding="utf-8")
        first_block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
        assert first_block.splitlines()[0].startswith("make lab"), path
        assert first_block.splitlines()[1].startswith("make test"), path
        assert text.index("make lab") < text.index("##", text.index("## ") + 3), path


def test_chinese_readme_example_prints_what_it_claims():
    import kmemlab as km

    text = ZH_READMES[0].read_text(encoding="utf-8")
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, re.S)
    pairs = [(c, blocks[i + 1][1]) for i, (lang, c) in enumerate(blocks)
             if lang == "python" and i + 1 < len(blocks) and blocks[i + 1][0] == ""]
    assert pairs
    try:
        for code, expected in pairs:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, "README.zh.md", "exec"), {})
            assert buf.getvalue() == expected, code
    finally:
        km.set_language("en")
