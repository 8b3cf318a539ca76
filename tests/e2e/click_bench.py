"""Click latency of the kmemlab explorers, measured in the browser (tests/e2e/test_bench_clicks.py).

Every time is taken in the page with ``performance.now()``: the click is a DOM ``click()``
on the explorer's button, each change the kernel sends back is seen by a MutationObserver
on the explorer, and counts once it can be on screen: a new image once it is decoded
(``img.decode()``), a text once the DOM holds it, each followed by the next animation frame.
Right after the explorer's button the page clicks a "ping" button whose callback only sets a
Label: the kernel handles comm messages in order, so when the ping's answer arrives every
update of the click has arrived too (and the kernel is free again). The same ping alone is the
baseline: an empty comm round trip, measured in the same run.
"""

from __future__ import annotations

import json
import statistics

import nbformat

PING = "bench-ping"

def explorers(ram: str) -> list[dict]:
    """What the benchmark clicks, per explorer: its main control, in its first view."""
    big = ram != "1G"
    kernel = f'km.Kernel(ram="{ram}")'
    return [
        dict(row="Buddy: alloc_pages (memory map)", title="Buddy allocator explorer",
             make=f"km.widgets.BuddyExplorer({kernel})", click="alloc_pages"),
        dict(row="Buddy: alloc_pages (buddy tree)", title="Buddy allocator explorer",
             make=f"km.widgets.BuddyExplorer({kernel})", click="alloc_pages",
             select=[("view", "buddy tree")]),
        dict(row="kmalloc: kmalloc (slab)", title="kmalloc explorer",
             make=f"km.widgets.KmallocExplorer({kernel})", click="kmalloc"),
        dict(row="vmalloc: vmalloc (mapping)", title="vmalloc explorer",
             make=f"km.widgets.VmallocExplorer({kernel})", click="vmalloc"),
        dict(row="context: kmalloc here", title="Execution context explorer",
             make=f"km.widgets.ContextExplorer({kernel})", click="kmalloc here"),
        dict(row="malloc: malloc", title="malloc explorer",
             make=f"km.widgets.MallocExplorer({kernel})", click="malloc"),
        dict(row="malloc: free last twice", title="malloc explorer",
             make=f"km.widgets.MallocExplorer({kernel})", click="free last twice",
             before=["malloc"], after=["undo", "undo"]),
        dict(row="boot: boot", title="Boot explorer",
             make=f"km.widgets.BootExplorer({kernel})", click="boot",
             alternate=("RAM", [ram, "512M" if not big else "16G"])),
        dict(row="compare: run on both", title="Compare kernels",
             make=f'km.widgets.CompareKernels(ram="{ram}")', click="run on both"),
        dict(row="address space: kmalloc", title="Address space explorer",
             make=("km.widgets.AddressSpaceExplorer()" if not big else
                   f"km.widgets.AddressSpaceExplorer({kernel})"), click="kmalloc"),
    ]


def notebook(ram: str) -> nbformat.NotebookNode:
    """One notebook: the ping button, then every explorer in its own cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import ipywidgets as W\n"
        "import kmemlab as km\n"
        "_pings = [0]\n"
        f"ping = W.Button(description={PING!r})\n"
        "pong = W.Label('0')\n"
        "def _pong(_b):\n"
        "    _pings[0] += 1\n"
        "    pong.value = str(_pings[0])\n"
        "ping.on_click(_pong)\n"
        "W.HBox([ping, pong])"))
    for i, ex in enumerate(explorers(ram)):
        nb.cells.append(nbformat.v4.new_markdown_cell(f"## bench {i}: {ex['row']}"))
        nb.cells.append(nbformat.v4.new_code_cell(f"bench_{i} = {ex['make']}\nbench_{i}"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    return nb


# ------------------------------------------------------------------ in the page
# A click: arm the observers, click the explorer's button, then the ping; resolve when the
# ping's answer is on the page and every new image is decoded.
CLICK_JS = """
async ([root, label, timeout]) => {
  const pingBtn = [...document.querySelectorAll('button')]
      .find(b => b.textContent.trim() === %(ping)s);
  const pong = pingBtn.closest('.widget-hbox').querySelector('.widget-label');
  const btn = [...root.querySelectorAll('button')].find(b => b.textContent.trim() === label);
  if (!btn) throw new Error('no button ' + label);
  const frame = () => new Promise(r => requestAnimationFrame(() => r(performance.now())));
  const why = [...root.querySelectorAll('.widget-html')]
      .find(h => h.querySelector('b') && h.textContent.trim() === 'why');
  const whyBox = why ? why.nextElementSibling : null;
  const seen = {img: [], why: [], other: []};
  const pending = [];
  const obs = new MutationObserver(muts => {
    for (const m of muts) {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (el && el.tagName === 'IMG' && m.attributeName === 'src') {
        pending.push(el.decode().catch(() => null).then(frame).then(t => seen.img.push(t)));
      } else {
        const kind = whyBox && whyBox.contains(el) ? 'why' : 'other';
        pending.push(frame().then(t => seen[kind].push(t)));
      }
    }
  });
  obs.observe(root, {subtree: true, attributes: true, characterData: true, childList: true});
  const before = pong.textContent;
  const answered = new Promise((resolve, reject) => {
    const o = new MutationObserver(() => {
      if (pong.textContent !== before) { o.disconnect(); resolve(performance.now()); }
    });
    o.observe(pong, {subtree: true, characterData: true, childList: true});
    setTimeout(() => { o.disconnect(); reject(new Error('no answer from the kernel')); },
               timeout);
  });
  const t0 = performance.now();
  btn.click();
  pingBtn.click();
  const free = await answered;
  await frame();
  let n = -1;
  while (pending.length !== n) { n = pending.length; await Promise.all(pending); }
  obs.disconnect();
  const last = xs => xs.length ? Math.max(...xs) - t0 : null;
  const all = [...seen.img, ...seen.why, ...seen.other];
  return {img: last(seen.img), why: last(seen.why), any: last(all), free: free - t0,
          n_img: seen.img.length};
}
""".replace("%(ping)s", json.dumps(PING))

# The baseline: the ping alone (click -> its Label shows the new count).
PING_JS = """
async ([timeout]) => {
  const pingBtn = [...document.querySelectorAll('button')]
      .find(b => b.textContent.trim() === %(ping)s);
  const pong = pingBtn.closest('.widget-hbox').querySelector('.widget-label');
  const before = pong.textContent;
  const answered = new Promise((resolve, reject) => {
    const o = new MutationObserver(() => {
      if (pong.textContent !== before) {
        o.disconnect();
        requestAnimationFrame(() => resolve(performance.now()));
      }
    });
    o.observe(pong, {subtree: true, characterData: true, childList: true});
    setTimeout(() => { o.disconnect(); reject(new Error('no answer from the kernel')); },
               timeout);
  });
  const t0 = performance.now();
  pingBtn.click();
  return (await answered) - t0;
}
""".replace("%(ping)s", json.dumps(PING))

# A dropdown set as a user would (the widget sends the value on 'change').
SELECT_JS = """
([root, label, value]) => {
  const box = [...root.querySelectorAll('.widget-dropdown')]
      .find(d => d.querySelector('label') && d.querySelector('label').textContent.trim() === label);
  if (!box) throw new Error('no dropdown ' + label);
  const sel = box.querySelector('select');
  // ipywidgets shows spaces in options as no-break spaces
  const opt = [...sel.options].find(o => o.textContent.replace(/\u00a0/g, ' ').trim() === value);
  if (!opt) throw new Error('no option ' + value + ' in ' + label);
  sel.value = opt.value;
  sel.dispatchEvent(new Event('change', {bubbles: true}));
}
"""


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile (nearest rank, as a p95 of 20 clicks is the 19th)."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


def summary(xs: list[float]) -> dict:
    return {"n": len(xs), "p50": statistics.median(xs), "p95": pct(xs, 95), "max": max(xs)}


def table(ram: str, base: dict, rows: list[dict]) -> str:
    """Markdown: per explorer p50/p95 of click -> everything visible, -> picture, kernel busy,
    and p95 as a multiple of the empty comm round trip's p50."""
    head = (f"click latency at {ram} (ms, {rows[0]['all']['n'] if rows else 0} clicks each; "
            f"empty comm round trip p50 {base['p50']:.0f}, p95 {base['p95']:.0f})\n\n"
            "| explorer: control (view) | p50 | p95 | max | picture p95 | kernel free p95 "
            "| p95 ÷ round trip |\n|---|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in rows:
        a, img, free = r["all"], r.get("img"), r["free"]
        lines.append(f"| {r['row']} | {a['p50']:.0f} | {a['p95']:.0f} | {a['max']:.0f} | "
                     f"{img['p95']:.0f} | " if img else
                     f"| {r['row']} | {a['p50']:.0f} | {a['p95']:.0f} | {a['max']:.0f} | - | ")
        lines[-1] += f"{free['p95']:.0f} | {a['p95'] / base['p50']:.1f} |"
        if r.get("unchanged"):
            lines[-1] += f" ({r['unchanged']} clicks changed nothing)"
    return head + "\n".join(lines) + "\n"
