"""The public forms as pages (no login, no script needed): ``/lookup`` (is my supply off?),
``/report`` (report a fault) and ``/subscribe`` (outage notices by SMS or e-mail).

Each page is a plain HTML form posted back to itself (``application/x-www-form-urlencoded``)
and answered by the same functions as the JSON routes (:mod:`openoms.api.routes.
public_forms`), with the same rate limits. A value refused is shown above the form naming
its field (``422``), the field marked ``aria-invalid`` and described by the message; the
answer is announced (``role="status"``). What was typed is given back in the form, never
anything the store holds about the customer.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError

from openoms.api.deps import ContextDep, SessionDep
from openoms.api.public_schemas import (
    CustomerNotFoundError,
    LookupIn,
    LookupOut,
    ReportIn,
    ReportOut,
    SubscriptionIn,
)
from openoms.api.rate import RateLimitedError
from openoms.api.routes.public_forms import check_rate, lookup_supply, report_fault, set_choice
from openoms.errors import InputError
from openoms.i18n import Lang
from openoms.service.context import ServiceContext
from openoms.web.html import Html, join, render
from openoms.web.pages import LangQuery, _document, _lang
from openoms.web.pages import _t as page_t

__all__ = ["router"]

router = APIRouter()

_MAX_FORM_BYTES: Final = 8192
_TEXTS: Final[dict[str, dict[Lang, str]]] = {
    "lookup_intro": {
        Lang.ZH: "输入电费单上的户号，或用电地址，查询您家目前是否停电、预计何时恢复。",
        Lang.EN: "Enter the account number on your bill, or your address, to see whether "
        "your supply is off and when it is expected back.",
    },
    "report_intro": {
        Lang.ZH: "家里停电或看到电力设施故障，请在这里报修。填写户号、地址或查询结果中的台区，"
        "并简要说明情况。",
        Lang.EN: "Report a power cut or damaged equipment here: your account number, your "
        "address or the area from a lookup, and a few words on what is wrong.",
    },
    "subscribe_intro": {
        Lang.ZH: "用户号（或地址）和在供电公司登记的手机号或电子邮箱，订阅或退订停电通知。"
        "无需登录。",
        Lang.EN: "Subscribe to or unsubscribe from outage notices with your account number "
        "(or address) and the phone number or e-mail address registered with the utility. "
        "No login needed.",
    },
    "account": {Lang.ZH: "户号", Lang.EN: "Account number"},
    "account_hint": {Lang.ZH: "电费单上的用户编号", Lang.EN: "As on your electricity bill"},
    "address": {Lang.ZH: "用电地址", Lang.EN: "Address"},
    "address_hint": {
        Lang.ZH: "与户号二选一，按电费单上的地址填写",
        Lang.EN: "Instead of the account number, as on your bill",
    },
    "area": {Lang.ZH: "所在台区（来自查询结果）", Lang.EN: "Area (from your lookup)"},
    "description": {Lang.ZH: "情况说明", Lang.EN: "What is wrong"},
    "description_hint": {
        Lang.ZH: "例如：全村停电；电线被风刮断。最多 500 字",
        Lang.EN: "For example: the whole village is off; a line is down. At most 500 characters",
    },
    "phone": {Lang.ZH: "回访电话（可不填）", Lang.EN: "Phone for a call back (optional)"},
    "phone_hint": {
        Lang.ZH: "仅供抢修人员回访，不会公开",
        Lang.EN: "Only for the repair crew to call you back; never shown",
    },
    "channel": {Lang.ZH: "通知方式", Lang.EN: "Channel"},
    "sms": {Lang.ZH: "短信", Lang.EN: "SMS"},
    "email": {Lang.ZH: "电子邮件", Lang.EN: "E-mail"},
    "contact": {Lang.ZH: "登记的手机号或电子邮箱", Lang.EN: "Registered phone or e-mail"},
    "contact_hint": {
        Lang.ZH: "须与在供电公司登记的一致",
        Lang.EN: "The one registered with the utility",
    },
    "action": {Lang.ZH: "操作", Lang.EN: "Action"},
    "subscribe_yes": {Lang.ZH: "订阅", Lang.EN: "Subscribe"},
    "subscribe_no": {Lang.ZH: "退订", Lang.EN: "Unsubscribe"},
    "lookup_button": {Lang.ZH: "查询", Lang.EN: "Look up"},
    "report_button": {Lang.ZH: "提交报修", Lang.EN: "Send the report"},
    "subscribe_button": {Lang.ZH: "提交", Lang.EN: "Send"},
    "errors": {Lang.ZH: "请修改以下内容：", Lang.EN: "Please correct the following:"},
    "form": {Lang.ZH: "表单", Lang.EN: "Form"},
    "answer": {Lang.ZH: "结果", Lang.EN: "Answer"},
    "see_outage": {Lang.ZH: "查看停电事件 {id}", Lang.EN: "See outage {id}"},
    "see_planned": {Lang.ZH: "查看计划停电 {id}", Lang.EN: "See planned outage {id}"},
    "report_here": {Lang.ZH: "报修这个地点的故障", Lang.EN: "Report a fault at this place"},
    "not_found_sub": {
        Lang.ZH: "没有找到这个户号（或地址）与该联系方式的登记。联系方式须与在供电公司登记的一致。",
        Lang.EN: "No customer is registered with this account (or address) and this contact. "
        "The contact must be the one registered with the utility.",
    },
    "too_many": {
        Lang.ZH: "提交过于频繁，请 {s} 秒后再试。",
        Lang.EN: "Too many requests from this address; try again in {s} s.",
    },
    "required": {Lang.ZH: "必须填写", Lang.EN: "is required"},
    "too_long": {
        Lang.ZH: "太长（最多 {n} 个字符）",
        Lang.EN: "is too long (at most {n} characters)",
    },
    "one_of": {
        Lang.ZH: "请填写户号或地址（只填一项）",
        Lang.EN: "give either the account number or the address (one of them)",
    },
    "somewhere": {
        Lang.ZH: "请填写户号、地址或台区中的一项",
        Lang.EN: "give an account number, an address or an area",
    },
}
_VALIDATOR_ZH: Final = {
    "is not a mainland mobile number (11 digits, 1…)": "不是有效的手机号码（11 位，以 1 开头）",
    "must not be blank": "不能为空",
    "must not contain control characters": "不能包含控制字符",
    "must not contain U+0000 (NUL)": "不能包含控制字符",
    "must be 8 to 64 letters, digits, '-' or '_'": "表单编号无效，请刷新页面后重新填写",
}
"""The validators' sentences (openoms.api.public_schemas) in Chinese, for the pages."""
_LABELS: Final = {
    "account": "account",
    "address": "address",
    "transformer_area": "area",
    "description": "description",
    "phone": "phone",
    "channel": "channel",
    "contact": "contact",
    "subscribed": "action",
}


def _t(key: str, lang: Lang, **values: object) -> str:
    text = _TEXTS[key][lang]
    return text.format(**values) if values else text


async def _posted(request: Request) -> dict[str, str]:
    """The posted form's fields (the first value of each), at most 8 KiB read."""
    body = (await request.body())[:_MAX_FORM_BYTES]
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items() if values}


Posted = Annotated[dict[str, str], Depends(_posted)]


# -- form pieces ---------------------------------------------------------------------------

_Errors = dict[str, str]  # field (or "" for the form) → message
_NOTHING: Final = Html("")
M = TypeVar("M", bound=BaseModel)


def _errors_of(exc: ValidationError, lang: Lang) -> _Errors:
    out: _Errors = {}
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        kind, ctx = error["type"], error.get("ctx") or {}
        if kind == "missing":
            text = _t("required", lang)
        elif kind == "string_too_long":
            text = _t("too_long", lang, n=ctx.get("max_length", "?"))
        elif not field and "either" in error["msg"]:
            text = _t("one_of", lang)
        elif not field:
            text = _t("somewhere", lang)
        else:
            said = str(error["msg"]).removeprefix("Value error, ")
            text = _VALIDATOR_ZH.get(said, said) if lang is Lang.ZH else said
        out.setdefault(field, text)
    return out


def _error_box(errors: _Errors, lang: Lang) -> Html:
    if not errors:
        return Html("")
    items = join(
        render(
            "<li>$where$text</li>",
            where=(
                render('<a href="#f-$f">$label</a>：', f=field, label=_t(_LABELS[field], lang))
                if field in _LABELS
                else Html("")
            ),
            text=text,
        )
        for field, text in errors.items()
    )
    return render(
        '<div class="errors" role="alert" tabindex="-1" id="errors"><h2>$title</h2>'
        "<ul>$items</ul></div>",
        title=_t("errors", lang),
        items=items,
    )


def _input(
    name: str,
    lang: Lang,
    values: dict[str, str],
    errors: _Errors,
    *,
    kind: str = "text",
    hint: str | None = None,
    maxlength: int = 100,
    extra: str = "",
) -> Html:
    """A labelled text field with its hint and error (described by both)."""
    described = [f"h-{name}"] if hint else []
    if name in errors:
        described.append(f"e-{name}")
    tag = (
        render(
            '<textarea id="f-$n" name="$n" rows="4" maxlength="$max"$aria>$v</textarea>',
            n=name,
            max=maxlength,
            aria=_aria(name, described, errors),
            v=values.get(name, ""),
        )
        if kind == "textarea"
        else render(
            '<input id="f-$n" name="$n" type="$kind" value="$v" maxlength="$max"$extra$aria>',
            n=name,
            kind=kind,
            v=values.get(name, ""),
            max=maxlength,
            extra=Html(extra),
            aria=_aria(name, described, errors),
        )
    )
    return render(
        '<div class="field"><label for="f-$n">$label</label>$hint$tag$error</div>',
        n=name,
        label=_t(_LABELS.get(name, name), lang),
        hint=render('<span class="hint" id="h-$n">$h</span>', n=name, h=hint) if hint else Html(""),
        tag=tag,
        error=render('<span class="hint" id="e-$n">✗ $e</span>', n=name, e=errors[name])
        if name in errors
        else Html(""),
    )


def _aria(name: str, described: list[str], errors: _Errors) -> Html:
    parts = ""
    if described:
        parts += f' aria-describedby="{" ".join(described)}"'
    if name in errors:
        parts += ' aria-invalid="true"'
    return Html(parts)


def _radios(
    name: str, lang: Lang, options: Sequence[tuple[str, str]], chosen: str, errors: _Errors
) -> Html:
    buttons = join(
        render(
            '<input type="radio" id="f-$n-$v" name="$n" value="$v"$checked>'
            '<label for="f-$n-$v">$text</label>',
            n=name,
            v=value,
            checked=Html(" checked") if value == chosen else Html(""),
            text=_t(key, lang),
        )
        for value, key in options
    )
    error = (
        render('<span class="hint" id="e-$n">✗ $e</span>', n=name, e=errors[name])
        if name in errors
        else Html("")
    )
    return render(
        '<fieldset id="f-$n"><legend>$legend</legend>$buttons$error</fieldset>',
        n=name,
        legend=_t(_LABELS[name], lang),
        buttons=buttons,
        error=error,
    )


def _form(
    action: str, lang: Lang, fields: Html, button: str, *, label: str, hidden: Html = _NOTHING
) -> Html:
    return render(
        '<form class="form" action="$action$q" method="post" aria-label="$label" novalidate>'
        '$fields$hidden<button type="submit">$button</button></form>',
        action=action,
        q="?lang=en" if lang is Lang.EN else "",
        label=label,
        fields=fields,
        hidden=hidden,
        button=button,
    )


def _page(lang: Lang, key: str, path: str, content: Html, *, status: int = 200) -> HTMLResponse:
    title = page_t(key, lang)
    return _document(
        lang,
        title=f"{title} · {page_t('title', lang)}",
        heading=title,
        content=content,
        path=path,
        status=status,
        live=False,
    )


def _clean(values: dict[str, str], names: Sequence[str]) -> dict[str, Any]:
    """The known fields, blank ones left out (an optional field not filled in)."""
    return {n: values[n] for n in names if values.get(n, "").strip()}


def _validate(model: type[M], data: dict[str, Any], lang: Lang) -> tuple[M | None, _Errors]:
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, _errors_of(exc, lang)


def _limited(request: Request, context: ServiceContext, kind: str, lang: Lang) -> str | None:
    """The sentence to show when the client is over its limit, else ``None`` (counted)."""
    try:
        check_rate(request, context, "lookup" if kind == "lookup" else "form")
    except RateLimitedError as exc:
        return _t("too_many", lang, s=exc.retry_after_s)
    return None


def _answer(text: str, css: str, links: Html = _NOTHING) -> Html:
    return render(
        '<div class="answer $css" role="status" tabindex="-1" id="answer"><p>$text</p>$links</div>',
        css=css,
        text=text,
        links=links,
    )


# -- lookup --------------------------------------------------------------------------------


def _lookup_form(lang: Lang, values: dict[str, str], errors: _Errors) -> Html:
    fields = join(
        [
            _input("account", lang, values, errors, hint=_t("account_hint", lang), maxlength=64),
            _input("address", lang, values, errors, hint=_t("address_hint", lang), maxlength=300),
        ]
    )
    return _form("/lookup", lang, fields, _t("lookup_button", lang), label=_t("form", lang))


def _lookup_links(answer: LookupOut, lang: Lang) -> Html:
    q = "?lang=en" if lang is Lang.EN else ""
    links: list[Html] = []
    if answer.outage is not None:
        links.append(
            render(
                '<a href="/outages/$id$q">$text</a>',
                id=answer.outage.id,
                q=q,
                text=_t("see_outage", lang, id=answer.outage.id),
            )
        )
    if answer.planned is not None:
        links.append(
            render(
                '<a href="/planned/$id$q">$text</a>',
                id=answer.planned.id,
                q=q,
                text=_t("see_planned", lang, id=answer.planned.id),
            )
        )
    if answer.area_ref is not None:
        links.append(
            render(
                '<a href="/report?area=$area$amp">$text</a>',
                area=quote(answer.area_ref),
                amp="&lang=en" if lang is Lang.EN else "",
                text=_t("report_here", lang),
            )
        )
    return render("<ul>$items</ul>", items=join(render("<li>$a</li>", a=a) for a in links))


def _intro(key: str, lang: Lang) -> Html:
    return render('<p class="intro">$text</p>', text=_t(key, lang))


@router.get("/lookup", include_in_schema=False)
def lookup_page(lang: LangQuery = None) -> HTMLResponse:
    language = _lang(lang)
    content = join([_intro("lookup_intro", language), _lookup_form(language, {}, {})])
    return _page(language, "lookup", "/lookup", content)


@router.post("/lookup", include_in_schema=False)
def lookup_post(
    context: ContextDep,
    session: SessionDep,
    request: Request,
    posted: Posted,
    lang: LangQuery = None,
) -> HTMLResponse:
    language = _lang(lang)
    values = _clean(posted, ("account", "address"))
    too_many = _limited(request, context, "lookup", language)
    if too_many is not None:
        content = join([_answer(too_many, "limited"), _lookup_form(language, values, {})])
        return _page(language, "lookup", "/lookup", content, status=429)
    query, errors = _validate(LookupIn, values, language)
    if query is None:
        content = join([_error_box(errors, language), _lookup_form(language, values, errors)])
        return _page(language, "lookup", "/lookup", content, status=422)
    answer = lookup_supply(context, session, query, language)
    content = join(
        [
            _answer(answer.message, answer.status, _lookup_links(answer, language)),
            _lookup_form(language, values, {}),
        ]
    )
    return _page(language, "lookup", "/lookup", content)


# -- fault report ------------------------------------------------------------------------


def _report_form(lang: Lang, values: dict[str, str], errors: _Errors) -> Html:
    area = values.get("transformer_area", "")
    parts = [
        _input("account", lang, values, errors, hint=_t("account_hint", lang), maxlength=64),
        _input("address", lang, values, errors, hint=_t("address_hint", lang), maxlength=300),
    ]
    if area or "transformer_area" in errors:
        parts.append(_input("transformer_area", lang, values, errors, extra=" readonly"))
    parts += [
        _input(
            "description",
            lang,
            values,
            errors,
            kind="textarea",
            hint=_t("description_hint", lang),
            maxlength=500,
        ),
        _input(
            "phone",
            lang,
            values,
            errors,
            kind="tel",
            hint=_t("phone_hint", lang),
            maxlength=30,
            extra=' autocomplete="tel"',
        ),
    ]
    key = values.get("idempotency_key") or secrets.token_urlsafe(16)
    hidden = render('<input type="hidden" name="idempotency_key" value="$k">', k=key)
    return _form(
        "/report",
        lang,
        join(parts),
        _t("report_button", lang),
        label=_t("form", lang),
        hidden=hidden,
    )


_REPORT_FIELDS: Final = (
    "account",
    "address",
    "transformer_area",
    "description",
    "phone",
    "idempotency_key",
)


@router.get("/report", include_in_schema=False)
def report_page(
    lang: LangQuery = None,
    area: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    language = _lang(lang)
    values = {"transformer_area": area.strip()} if area and area.strip() else {}
    content = join([_intro("report_intro", language), _report_form(language, values, {})])
    return _page(language, "report", "/report", content)


@router.post("/report", include_in_schema=False)
def report_post(
    context: ContextDep, request: Request, posted: Posted, lang: LangQuery = None
) -> HTMLResponse:
    language = _lang(lang)
    values = _clean(posted, _REPORT_FIELDS)
    too_many = _limited(request, context, "form", language)
    if too_many is not None:
        content = join([_answer(too_many, "limited"), _report_form(language, values, {})])
        return _page(language, "report", "/report", content, status=429)
    report, errors = _validate(ReportIn, values, language)
    answer: ReportOut | None = None
    if report is not None:
        try:
            answer = report_fault(context, report, language, channel=request.url.path)
        except InputError as exc:
            errors = {"transformer_area": str(exc).removeprefix("transformer_area: ")}
    if answer is None:
        content = join([_error_box(errors, language), _report_form(language, values, errors)])
        return _page(language, "report", "/report", content, status=422)
    links = (
        render(
            '<p><a href="/outages/$id$q">$text</a></p>',
            id=answer.outage.id,
            q="?lang=en" if language is Lang.EN else "",
            text=_t("see_outage", language, id=answer.outage.id),
        )
        if answer.outage is not None
        else Html("")
    )
    content = _answer(answer.message, answer.status, links)
    return _page(language, "report", "/report", content, status=202)


# -- subscription ----------------------------------------------------------------------------


def _subscribe_form(lang: Lang, values: dict[str, str], errors: _Errors) -> Html:
    fields = join(
        [
            _input("account", lang, values, errors, hint=_t("account_hint", lang), maxlength=64),
            _input("address", lang, values, errors, hint=_t("address_hint", lang), maxlength=300),
            _radios(
                "channel",
                lang,
                (("sms", "sms"), ("email", "email")),
                values.get("channel", "sms"),
                errors,
            ),
            _input(
                "contact",
                lang,
                values,
                errors,
                hint=_t("contact_hint", lang),
                maxlength=254,
                extra=' autocomplete="off"',
            ),
            _radios(
                "subscribed",
                lang,
                (("true", "subscribe_yes"), ("false", "subscribe_no")),
                values.get("subscribed", "true"),
                errors,
            ),
        ]
    )
    return _form("/subscribe", lang, fields, _t("subscribe_button", lang), label=_t("form", lang))


@router.get("/subscribe", include_in_schema=False)
def subscribe_page(lang: LangQuery = None) -> HTMLResponse:
    language = _lang(lang)
    content = join([_intro("subscribe_intro", language), _subscribe_form(language, {}, {})])
    return _page(language, "subscribe", "/subscribe", content)


@router.post("/subscribe", include_in_schema=False)
def subscribe_post(
    context: ContextDep,
    session: SessionDep,
    request: Request,
    posted: Posted,
    lang: LangQuery = None,
) -> HTMLResponse:
    language = _lang(lang)
    values = _clean(posted, ("account", "address", "channel", "contact", "subscribed"))
    too_many = _limited(request, context, "form", language)
    if too_many is not None:
        content = join([_answer(too_many, "limited"), _subscribe_form(language, values, {})])
        return _page(language, "subscribe", "/subscribe", content, status=429)
    choice, errors = _validate(SubscriptionIn, values, language)
    if choice is not None:
        try:
            answer = set_choice(context, session, choice, language)
        except CustomerNotFoundError:
            content = join(
                [
                    _answer(_t("not_found_sub", language), "not_found"),
                    _subscribe_form(language, values, {}),
                ]
            )
            return _page(language, "subscribe", "/subscribe", content, status=404)
        except InputError as exc:
            errors = {"contact": str(exc).removeprefix("contact: ")}
        else:
            content = join(
                [_answer(answer.message, answer.status), _subscribe_form(language, {}, {})]
            )
            return _page(language, "subscribe", "/subscribe", content)
    content = join([_error_box(errors, language), _subscribe_form(language, values, errors)])
    return _page(language, "subscribe", "/subscribe", content, status=422)
