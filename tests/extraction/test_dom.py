"""The one pass over the parsed page: what it collects and what pruning removes."""

from __future__ import annotations

from spiders.extraction.dom import parse, prune_invisible, scan, text_content

PAGE = """<html lang="en"><head><title>Kettle</title><meta property="og:title" content="Kettle">
<link rel="canonical" href="https://shop.example/kettle"></head><body>
<h1 hidden>Hidden heading</h1>
<div class="d-none" itemscope itemtype="https://schema.org/Product"><span itemprop="name">Kettle</span>
<h1>Inside a hidden block</h1></div>
<div typeof="schema:Product"><span property="schema:name">Kettle</span></div>
<h1>Kettle <span style="display: none">secret</span>2 l</h1>
<p>before<script>var x = 1;</script> after</p>
<input type="hidden" name="id" value="1"><input type="submit" value="Add to cart">
</body></html>"""


def test_the_scan_collects_structured_data_hidden_or_not():
    root = parse(PAGE)
    found = scan(root)
    assert [e.get("itemtype") for e in found.items] == ["https://schema.org/Product"]
    assert [e.get("typeof") for e in found.typed] == ["schema:Product"]
    assert [e.get("property") for e in found.metas] == ["og:title"]
    assert found.title is not None and found.title.text == "Kettle"
    assert [e.get("rel") for e in found.links] == ["canonical"]
    assert len(found.scripts) == 1


def test_only_headings_a_buyer_sees_are_kept():
    root = parse(PAGE)
    found = scan(root)
    prune_invisible(root, found.doomed)
    assert [text_content(h) for h in found.h1s] == [text_content(h) for h in root.iter("h1")] == ["Kettle 2 l"]


def test_pruning_with_the_scan_removes_what_a_buyer_cannot_see_and_keeps_the_tails():
    root = parse(PAGE)
    found = scan(root)
    prune_invisible(root, found.doomed)
    body = text_content(root.find(".//body"))
    assert "Hidden heading" not in body and "Inside a hidden block" not in body
    assert "secret" not in body and "var x" not in body
    assert "before after" in body and "Kettle 2 l" in body
    assert [i.get("type") for i in root.iter("input")] == ["submit"]


def test_pruning_without_a_scan_removes_the_same():
    a, b = parse(PAGE), parse(PAGE)
    prune_invisible(a)
    prune_invisible(b, scan(b).doomed)
    assert text_content(a, 100000) == text_content(b, 100000)


def test_short_texts_filled_at_once_equal_those_worked_out_one_by_one():
    from spiders.extraction import visible

    html = ("<html><body><div class='p'><span class='price'><span>$</span><span>199</span><sup>99</sup></span>"
            "<p>Was <s>$249.99</s></p><ul><li>In stock</li><li>2 left</li></ul>"
            "<div>" + "long text " * 30 + "<b>$5</b></div><select><option>1</option></select>"
            "<span>37 . 30 €</span><!-- note --><em>x</em> tail</div></body></html>")
    root = parse(html)
    prune_invisible(root)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    lazy, filled = visible._Short(), visible._Short()
    filled.fill(elements)
    assert [lazy.get(e) for e in elements] == [filled.get(e) for e in elements]
    assert "$199.99" in [filled.get(e) for e in elements]
