"""Paths and a small quiz shared by the quiz tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "notebooks" / "quizzes").glob("*.yaml"))
BROKEN = Path(__file__).parent / "broken"


SMALL = """\
kmemlab_quiz: 1
id: t-small
title: Small quiz
settings: {mode: graded, kernel: {version: "6.12", ram: 1G, cpus: 2}}
questions:
  - id: s1
    type: single
    prompt: Interrupt handler flags?
    choices: [{text: GFP_ATOMIC, correct: true}, GFP_KERNEL, GFP_USER]
    explanation: cannot sleep
  - id: m1
    type: multiple
    prompt: Which may sleep?
    choices: [{text: GFP_KERNEL, correct: true}, GFP_ATOMIC, {text: vmalloc, correct: true}]
  - id: n1
    type: numeric
    prompt: KMALLOC_MAX_CACHE_SIZE?
    answer: 8
    unit: KiB
  - id: n2
    type: numeric
    prompt: pi-ish
    answer: 3.14
    tolerance: 0.01
  - id: n3
    type: numeric
    prompt: roughly 1000
    answer: 1000
    tolerance: 5%
  - id: t1
    type: text
    prompt: the allocator?
    accept: [buddy, buddy allocator]
    explanation: splits and merges
  - id: sim
    type: simulator
    params: {size: {range: [9, 4096]}, version: ["3.15", "6.12"]}
    prompt: Linux {version}, kmalloc({size})?
    answer: kmalloc_cache(size, version=version)
  - id: simn
    type: simulator
    params: {size: {range: [1, 1M]}}
    prompt: get_order({size})?
    answer: get_order(size)
"""
