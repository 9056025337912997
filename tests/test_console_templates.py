"""The notice templates page: every template file on disk is shown, rendered in Chinese and
English with the sample case through the dispatcher's renderer; a broken template shows its
error instead of failing the page."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

from notifications.preview import preview_all, template_files
from notifications.render import TEMPLATE_DIR, Renderer
from tests.consolehelpers import Console, console_fixture  # noqa: F401


def _event_files() -> list[str]:
    return sorted(p.relative_to(TEMPLATE_DIR).as_posix() for p in TEMPLATE_DIR.glob("*/*.txt") if p.name[0] != "_")


async def test_every_template_file_is_shown_rendered_in_chinese_and_english(console: Console) -> None:
    files = _event_files()
    assert len(files) > 40  # the folder was found
    sales = await console.browser("sales")
    page = html.unescape(await sales.get("/templates"))
    for path in files:
        assert f'<code class="template-file">{path}</code>' in page, path
    assert 'class="error template-error"' not in page
    assert page.count('<pre class="text template-body">') == len(files)
    stems = {path.rsplit(".", 2)[0] for path in files}
    for stem in stems:  # each template in both languages
        assert f"{stem}.zh.txt" in files and f"{stem}.en.txt" in files, stem
    assert "FB-2026-000123" in page and "主题：" in page  # the page speaks the reader's language

    await (await console.browser("tech")).get("/templates", expect=403)  # admins and sales only
    await (await console.browser("admin")).get("/templates")


def test_a_broken_template_is_reported_with_its_error_and_the_others_still_render(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATE_DIR, folder)
    (folder / "customer" / "reply.en.txt").write_text(
        "{% extends layout %}{% block body %}{{ case.no_such_field }}{% endblock %}", encoding="utf-8"
    )
    previews = {p.file.path: p for p in preview_all(Renderer(folder))}
    assert set(previews) == {f.path for f in template_files(folder)}
    broken = previews["customer/reply.en.txt"]
    assert broken.error is not None and "no_such_field" in broken.error
    assert [path for path, p in previews.items() if p.error] == ["customer/reply.en.txt"]
