"""My posts: write one (it is expertise at once), list them, edit or delete the ones written
here."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from askhub.context import AppContext
from askhub.i18n import N_
from askhub.people.schemas import PostCreate
from askhub.people.service import (
    create_post,
    delete_post,
    editable,
    own_post,
    posts_of,
    update_post,
)
from askhub.web.core import FormErrors, convert, flash, page, redirect, text, word_list
from askhub.web.i18n import language_for, translator
from models import Person, Post


def _form(form: Any) -> dict[str, str]:
    return {name: text(form, name) if form else "" for name in ("title", "body", "tags")}


def _data(raw: dict[str, str]) -> tuple[PostCreate | None, FormErrors]:
    return convert(
        {"title": raw["title"], "body": raw["body"], "tags": word_list(raw["tags"], 20)},
        PostCreate,
    )


async def _list(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Person,
    raw: dict[str, str],
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response[Any]:
    return page(
        request,
        viewer,
        "posts.html",
        status=status,
        post=None,
        form=raw,
        errors=errors or {},
        posts=list(await posts_of(db, viewer, limit=100)),
        editable=editable,
    )


def _saved(request: Request[Any, Any, Any], viewer: Person, message: str) -> None:
    flash(
        request, translator(language_for(viewer, request.headers.get("accept-language")))(message)
    )


@get("/posts")
async def my_posts(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person
) -> Response[Any]:
    return await _list(request, db, viewer, _form(None))


@post("/posts", status_code=200)
async def write_post(
    request: Request[Any, Any, Any], db: AsyncSession, context: AppContext, viewer: Person
) -> Response[Any]:
    raw = _form(await request.form())
    data, errors = _data(raw)
    if data is None:
        return await _list(request, db, viewer, raw, errors, 422)
    await create_post(db, context.routing, viewer, data)
    _saved(request, viewer, "Published. AskHub counts it as your expertise from now on.")
    return redirect("/posts")


async def _mine(db: AsyncSession, viewer: Person, post_id: int) -> Post:
    """One of the viewer's editable posts; anyone else's is "not found", not "forbidden"."""
    item = await own_post(db, viewer, post_id)
    if item is None:
        raise NotFoundException(f"no post {post_id} of yours to edit")
    return item


def _edit_page(
    request: Request[Any, Any, Any],
    viewer: Person,
    item: Post,
    raw: dict[str, str],
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response[Any]:
    return page(
        request,
        viewer,
        "posts.html",
        status=status,
        post=item,
        form=raw,
        errors=errors or {},
        posts=[],
        editable=editable,
    )


@get("/posts/{post_id:int}/edit")
async def edit_post_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, post_id: int
) -> Response[Any]:
    item = await _mine(db, viewer, post_id)
    raw = {"title": item.title, "body": item.body, "tags": ", ".join(item.tags or [])}
    return _edit_page(request, viewer, item, raw)


@post("/posts/{post_id:int}/edit", status_code=200)
async def edit_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    context: AppContext,
    viewer: Person,
    post_id: int,
) -> Response[Any]:
    item = await _mine(db, viewer, post_id)
    raw = _form(await request.form())
    data, errors = _data(raw)
    if data is None:
        return _edit_page(request, viewer, item, raw, errors, 422)
    await update_post(db, context.routing, item, data)
    _saved(request, viewer, "Saved.")
    return redirect("/posts")


@get("/posts/{post_id:int}/delete")
async def delete_post_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, post_id: int
) -> Response[Any]:
    """The confirm step: what goes, and that it cannot be undone (works without script)."""
    item = await _mine(db, viewer, post_id)
    return page(request, viewer, "post_delete.html", post=item)


@post("/posts/{post_id:int}/delete", status_code=200)
async def remove_post(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Person, post_id: int
) -> Response[Any]:
    """Delete it, as ``DELETE /api/posts/{id}`` does: it stops counting as expertise."""
    await delete_post(db, await _mine(db, viewer, post_id))
    _saved(request, viewer, N_("Deleted. It no longer counts as your expertise."))
    return redirect("/posts")
