"""The Chinese chapters (notebooks/zh) in a real browser: Run All, no errors, every explorer
shows its Chinese title and labels, one step of each explorer gives a Chinese "why", and
screenshots of all of it for a person to check for tofu (boxes instead of characters).

Screenshots: test-output/e2e/zh-chNN-*.png. The explorers are driven as in
test_chapters.py, through their Chinese button labels (kmemlab/locale/zh/.../kmemlab.po).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from lab_helpers import CHAPTERS, ExplorerView, check_errors, open_notebook, run_all, shot

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = CHAPTERS / "zh"


class ZhExplorer(ExplorerView):
    """An explorer with the Chinese frame: "原因" (why) above the why box."""

    def __init__(self, page, title: str, index: int = 0):
        super().__init__(page, title, index)
        self.why = self.root.locator(".widget-html:has(b:text-is('原因')) + .widget-html").first

    # CSS strings do not understand json's \uXXXX escapes: quote the Chinese title as is
    def _title_b(self):
        return self.page.locator(f"b:text-is({json.dumps(self.title, ensure_ascii=False)})")

    @staticmethod
    def outputs(page, title: str):
        head = page.locator(".widget-html").filter(
            has=page.locator(f"b:text-is({json.dumps(title, ensure_ascii=False)})"))
        return (page.locator(".jp-Notebook .jp-OutputArea-output")
                .filter(has=head).filter(has=page.locator("img.widget-image")))

    @classmethod
    def all_in(cls, page, title: str) -> list[ZhExplorer]:
        return [cls(page, title, i) for i in range(cls.outputs(page, title).count())]

    def expect_oops(self, text) -> None:
        oops = self.root.locator(".widget-html").filter(
            has_text=re.compile(r"Oops / 内核错误|内核崩溃|User-space")).first
        self.expect_text(oops, text)

    def expect_chinese_why(self, text) -> None:
        self.expect_why(text)
        assert CJK.search(self.why.inner_text()), self.why.inner_text()


def drive_address_space(ex, tag):
    before = ex.png()
    ex.click("kmalloc")
    ex.expect_chinese_why(re.compile(r"kmalloc"))
    ex.wait_png_changed(before, "kmalloc")
    ex.shot(f"{tag}-address-space")


def drive_buddy(ex, tag):
    before = ex.png()
    ex.set_slider("order", 3)
    ex.click("alloc_pages")
    ex.expect_chinese_why(re.compile(r"mm_page_alloc\s*:"))
    ex.wait_png_changed(before, "alloc_pages(order 3)")
    ex.shot(f"{tag}-buddy")


def drive_kmalloc(ex, tag):
    before = ex.png()
    ex.click("kmalloc")
    ex.expect_chinese_why(re.compile(r"kmalloc\(\d+\) → kmalloc-\d+：.*大小级别"))
    ex.wait_png_changed(before, "kmalloc")
    ex.click("kfree 最后一个两次")
    ex.expect_oops(re.compile(r"Oops / 内核错误"))
    ex.shot(f"{tag}-kmalloc-double-free")


def drive_vmalloc(ex, tag):
    before = ex.png()
    ex.click("vmalloc")
    ex.wait_png_changed(before, "vmalloc")
    ex.shot(f"{tag}-vmalloc")


def drive_context(ex, tag):
    ex.png()
    ex.select("context", "hardirq")
    ex.select("gfp", "GFP_KERNEL")
    ex.click("在这里 kmalloc")
    ex.expect_oops("sleeping function called from invalid context")   # the kernel's words
    ex.expect_shown("kmemlab 说明")                                    # kmemlab's, in dmesg
    ex.shot(f"{tag}-context")


def drive_boot(ex, tag):
    before = ex.png()
    ex.select("kernel", "3.15/i386")
    ex.click("启动")
    ex.wait_png_changed(before, "boot 3.15/i386")
    ex.shot(f"{tag}-boot")


def drive_malloc(ex, tag):
    before = ex.png()
    ex.click("malloc")
    ex.wait_png_changed(before, "malloc")
    ex.shot(f"{tag}-malloc")


def drive_compare(ex, tag):
    before = ex.png()
    ex.click("在两个内核上运行")
    ex.wait_png_changed(before, "run on both")
    ex.shot(f"{tag}-compare")


DRIVERS = {  # Chinese explorer title (kmemlab.po) -> driver
    "地址空间探索器": drive_address_space,
    "伙伴系统探索器": drive_buddy,
    "kmalloc 探索器": drive_kmalloc,
    "vmalloc 探索器": drive_vmalloc,
    "执行上下文探索器": drive_context,
    "启动过程探索器": drive_boot,
    "malloc 探索器": drive_malloc,
    "内核对比": drive_compare,
}


def test_browser_has_a_cjk_font():
    """Chromium draws Chinese with a system font: without one every character is a box."""
    if not shutil.which("fc-list"):
        pytest.skip("fontconfig's fc-list is not installed")
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                           text=True).stdout
    assert fonts.strip(), "no Chinese font: apt-get install fonts-wqy-zenhei (as .ci/run does)"


@pytest.mark.parametrize("number", ["00", "01", "02", "03", "04", "05", "06"])
def test_chinese_chapter(number, page, jupyter_server):
    nb = sorted(ZH.glob(f"{number}-*.ipynb"))
    if not nb:
        pytest.skip(f"no Chinese chapter {number}")
    tag = f"zh-ch{number}"
    open_notebook(page, jupyter_server, f"zh/{nb[0].name}")
    run_all(page, timeout=150_000)
    check_errors(page, page.js_errors, log_console=False)
    shot(page, f"{tag}-after-run-all")
    text = page.locator(".jp-Notebook").inner_text()
    assert len(CJK.findall(text)) > 300
    if page.locator("text=文档说").count():
        assert page.locator("text=实际内核").count()
    found = 0
    for title, drive in DRIVERS.items():
        for ex in ZhExplorer.all_in(page, title)[:1]:
            found += 1
            assert ex.button("◀ 后退").count() and ex.button("重置").count()
            ex.shot(f"{tag}-{drive.__name__[6:]}-0-initial")
            drive(ex, tag)
    quiz = page.locator(".widget-html h3").filter(has_text=re.compile(r"第 \d 章"))
    if quiz.count():
        quiz.first.scroll_into_view_if_needed()
        shot(page, f"{tag}-quiz")
    assert found or number in ("06",), f"{nb[0].name}: no explorer found by its Chinese title"
    check_errors(page, page.js_errors)
