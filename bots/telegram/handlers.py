"""The conversation: each handler checks access, calls the assistant in a thread, renders, sends.

Every handler that may answer goes through :func:`admit` first, so strangers get one polite
refusal and then silence. Heavy work (retrieval, SQLite, re-indexing) runs in threads so the event
loop keeps serving other people.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes

from assistant.answer.generate import Checked
from assistant.audience import EVERYONE
from assistant.errors import (
    IndexNotFoundError,
    IngestBusyError,
    InvalidQuestionError,
    WegwijzerError,
)
from assistant.stores.feedback import Shown, hash_user
from assistant.transparency import ai_notice
from assistant.types import Answer
from bots import render
from bots.texts import t
from ingest import catalog, corpusfiles
from ingest.catalog import CatalogError
from ingest.corpusfiles import CorpusFileError
from ingest.jobs import Reindexer
from ingest.jobstate import Job

from . import delivery
from .state import STATE_KEY, BotState
from .texts import say

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
CHANNEL = "telegram"
GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)
# Callback data: "<kind>:<answer id>", well under Telegram's 64 bytes.
SOURCES, HELPFUL, NOT_HELPFUL = "src", "up", "down"
FORGET_YES, FORGET_NO = "forget", "keep"  # the /vergeet confirmation: "<kind>:<one-time token>"
FORGET_CONFIRM_S = 600.0  # a /vergeet confirmation can be pressed for this long
RECENT_QUESTIONS = 10  # /mijngegevens lists this many of the newest questions
FEEDBACK_ACKS = {"new": "bot.feedback_thanks", "changed": "bot.feedback_changed", "same": "bot.feedback_again",
                 None: "bot.feedback_unknown"}
REINDEX_POLL_S = 1.0  # how often /herindexeer looks at the job state
REINDEX_WAIT_S = 4 * 3600.0  # after this it stops waiting and points to /status
# A growing answer is edited at most this often: Telegram allows about one message a second in a chat and
# 20 a minute in a group, edits included (the per-chat limiter in flood.py paces the rest).
EDIT_EVERY_S = 1.5
EDIT_EVERY_GROUP_S = 4.0


def state(context: Context) -> BotState:
    st: BotState = context.bot_data[STATE_KEY]
    return st


def _reply_to(message: Message | None) -> int | None:
    """In groups the bot answers as a reply, so it is clear whose question it answers."""
    if message is not None and message.chat.type in GROUP_TYPES:
        return message.message_id
    return None


async def _say(update: Update, context: Context, markup: str) -> None:
    chat = update.effective_chat
    if chat is not None:
        await delivery.send_long_html(context.bot, chat.id, markup,
                                      reply_to=_reply_to(update.effective_message))


async def admit(update: Update, context: Context) -> bool:
    """Whether the sender may use the bot; the first time someone may not, they are told so politely."""
    user = update.effective_user
    if user is None or user.is_bot:
        return False
    st = state(context)
    if st.access.is_allowed(user.id):
        return True
    if st.access.first_refusal(user.id):
        log.info("refused a user who has no access (%s)", hash_user(user.id, st.salt)[:8])
        key = "bot.refused_code" if st.access.join_code else "bot.refused"
        await _say(update, context, render.escape(say(key)))
    return False


async def admit_admin(update: Update, context: Context) -> bool:
    if not await admit(update, context):
        return False
    user = update.effective_user
    if user is not None and state(context).access.is_admin(user.id):
        return True
    await _say(update, context, render.escape(say("bot.admin_only")))
    return False


# ---------------------------------------------------------------- commands


def notice_html(settings: Any) -> str:
    """The AI notice (issue 22) as Telegram HTML, with a link to /transparantie when the web's address is known."""
    text = render.escape(ai_notice(settings))
    if settings.public_url:
        href = html.escape(settings.public_url + "/transparantie", quote=True)
        text += f' <a href="{href}">{render.escape(say("notice.link"))}</a>'
    return f"<i>{text}</i>"


async def on_start(update: Update, context: Context) -> None:
    """/start, or /start CODE to join with the join code (only in a private chat: a code in a group leaks).

    The welcome opens with the AI notice: people are told at the start that an automated assistant answers.
    """
    st, user, chat = state(context), update.effective_user, update.effective_chat
    welcome = say("bot.welcome_html", notice=notice_html(st.settings))
    if (user is not None and chat is not None and chat.type == ChatType.PRIVATE and context.args
            and not st.access.is_allowed(user.id) and st.access.try_join(user.id, " ".join(context.args))):
        log.info("a user joined with the join code (%s)", hash_user(user.id, st.salt)[:8])
        await _say(update, context, render.escape(say("bot.joined")) + "\n\n" + welcome)
        return
    if await admit(update, context):
        await _say(update, context, welcome)


async def on_help(update: Update, context: Context) -> None:
    if not await admit(update, context):
        return
    st, user = state(context), update.effective_user
    text = say("bot.help_html", mention=render.escape(f"@{context.bot.username}"),
               limit=st.settings.max_question_chars)
    if user is not None and st.access.is_admin(user.id):
        text += say("bot.help_admin_html")
    await _say(update, context, text)


async def on_new(update: Update, context: Context) -> None:
    """/nieuw: the chat's next question starts a new conversation."""
    if not await admit(update, context):
        return
    st, chat = state(context), update.effective_chat
    if chat is None:
        return
    await asyncio.to_thread(st.assistant.forget, st.conversation(chat.id))
    await _say(update, context, render.escape(say("bot.new_conversation")))


async def _private(update: Update, context: Context) -> bool:
    """A person's own data is shown and erased only in a private chat (in a group everyone would read it)."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        return True
    await _say(update, context, render.escape(say("bot.private_only")))
    return False


def _day(epoch: float) -> str:
    return time.strftime("%d-%m-%Y", time.localtime(epoch))


async def on_my_data(update: Update, context: Context) -> None:
    """/mijngegevens: everything the bot keeps about the sender, read from where it is kept."""
    if not await admit(update, context) or not await _private(update, context):
        return
    st, user, chat = state(context), update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    settings = st.settings
    history = await asyncio.to_thread(st.assistant.history, st.conversation(chat.id))
    data = await asyncio.to_thread(st.store.personal_data, st.user_ref(user.id))
    up = sum(1 for _, helpful, _ in data.votes if helpful)
    minutes = int(settings.conversation_ttl_s // 60)
    lines = [f"<b>{render.escape(say('bot.mydata_title'))}</b>", render.escape(say("bot.mydata_pseudonym")), ""]
    lines.append(render.escape(say("bot.mydata_conversation", n=len(history.turns), minutes=minutes)
                               if history is not None and history.turns else say("bot.mydata_no_conversation")))
    lines.append(render.escape(say("bot.mydata_questions", n=len(data.questions),
                                   days=settings.question_retention_days)))
    if data.questions:
        lines.append(render.escape(say("bot.mydata_recent")))
        lines += [f"• {_day(at)}: {render.escape(question)}" for at, question, _ in data.questions[:RECENT_QUESTIONS]]
    lines.append(render.escape(say("bot.mydata_feedback", up=up, down=len(data.votes) - up)))
    limit = st.question_limit
    if limit.count:
        left = limit.count - st.throttle.used(limit, str(user.id))
        lines.append(render.escape(say("bot.mydata_rate", left=left, limit=limit.count)))
    how = st.access.how(user.id)
    if how != "none":
        lines.append(render.escape(say(f"bot.mydata_access_{how}")))
    lines += ["", render.escape(say("bot.mydata_forget"))]
    await _say(update, context, "\n".join(lines))


async def on_forget(update: Update, context: Context) -> None:
    """/vergeet: ask for confirmation (two buttons, a one-time token valid FORGET_CONFIRM_S); the button erases."""
    if not await admit(update, context) or not await _private(update, context):
        return
    st, user, chat = state(context), update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    token = secrets.token_urlsafe(9)
    now = time.monotonic()
    st.forget_asked = {k: v for k, v in st.forget_asked.items() if v[1] > now}
    st.forget_asked[user.id] = (token, now + FORGET_CONFIRM_S)
    text = say("bot.forget_confirm")
    if st.access.how(user.id) == "member":
        text += say("bot.forget_confirm_member")
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(say("bot.forget_yes"), callback_data=f"{FORGET_YES}:{token}"),
        InlineKeyboardButton(say("bot.forget_no"), callback_data=f"{FORGET_NO}:{token}")]])
    await delivery.send_html(context.bot, chat.id, render.escape(text), keyboard=keyboard)


async def _forget_pressed(query: CallbackQuery, context: Context, kind: str, token: str) -> None:
    """The answer to /vergeet's question: erase the conversation, questions, votes and membership, or nothing."""
    st, user = state(context), query.from_user
    asked = st.forget_asked.get(user.id)
    await _ack(query)
    if asked is None or asked[1] <= time.monotonic() or not secrets.compare_digest(asked[0], token):
        text = say("bot.forget_expired")
    elif kind == FORGET_NO:
        st.forget_asked.pop(user.id, None)
        text = say("bot.forget_kept")
    else:
        st.forget_asked.pop(user.id, None)
        await asyncio.to_thread(st.assistant.forget, st.conversation(user.id))  # the private chat's id is the user's
        ids, votes = await asyncio.to_thread(st.store.forget_person, st.user_ref(user.id))
        st.drop(ids)
        how = st.access.how(user.id)
        was_member = await asyncio.to_thread(st.access.forget, user.id)
        log.info("a user erased their data (%d questions, %d votes)", len(ids), votes)
        text = say("bot.forget_done", questions=len(ids), votes=votes) + say("bot.forget_groups")
        if was_member:
            text += say("bot.forget_done_member")
        elif how in ("admin", "allowed"):
            text += say("bot.forget_done_config")
    if query.message is not None and isinstance(query.message, Message):
        await delivery.edit_html(context.bot, query.message, render.escape(text))
    else:
        await delivery.send_html(context.bot, user.id, render.escape(text))


async def on_sources(update: Update, context: Context) -> None:
    """/bronnen: the documents in the index in service."""
    if not await admit(update, context):
        return
    documents = await asyncio.to_thread(state(context).assistant.documents, _audiences(update, context))
    if not documents:
        await _say(update, context, render.escape(say("bot.documents_none")))
        return
    await _say(update, context, render.documents_html(
        documents, heading=say("bot.documents_heading", count=len(documents)),
        passages_label=say("bot.document_line", passages="{passages}")))


def _seconds(value: Any) -> str:
    """A duration as people read it: one decimal, Belgian decimal comma."""
    try:
        return f"{float(value):.1f}".replace(".", ",")
    except (TypeError, ValueError):
        return "?"


def _when(epoch: Any) -> str:
    try:
        return time.strftime("%d-%m-%Y %H:%M", time.localtime(float(epoch)))
    except (TypeError, ValueError, OverflowError):
        return say("bot.last_ingest_unknown")


async def on_status(update: Update, context: Context) -> None:
    """/status (admins): index version, documents, passages and the last ingest."""
    if not await admit_admin(update, context):
        return
    status = await asyncio.to_thread(state(context).assistant.status)
    last = status.get("last_ingest") or {}
    when = _when(last.get("finished_at"))
    if not last:
        last_text = say("bot.last_ingest_unknown")
    elif last.get("ok", True):
        last_text = say("bot.last_ingest", when=when, documents=last.get("documents", "?"),
                        skipped=len(last.get("skipped") or []), seconds=_seconds(last.get("seconds")))
    else:
        last_text = say("bot.last_ingest_failed", when=when, error=last.get("error", ""))
    await _say(update, context, say(
        "bot.status_html", version=render.escape(str(status.get("version", "?"))),
        documents=status.get("documents", "?"), passages=status.get("passages", "?"),
        last_ingest=render.escape(last_text)))


async def on_reindex(update: Update, context: Context) -> None:
    """/herindexeer (admins): request a re-index job and report its start and outcome from the job state.

    The job runs in its own process (ingest/jobs.py); this handler only polls the shared job state, so
    the bot keeps answering meanwhile, and a request while a job runs joins the follow-up job.
    """
    if not await admit_admin(update, context):
        return
    st, chat = state(context), update.effective_chat
    if chat is None:
        return
    jobs = st.reindexer
    try:
        ticket = await asyncio.to_thread(jobs.request, CHANNEL)
    except WegwijzerError as exc:
        log.warning("could not request a re-index: %s", exc)
        await _say(update, context, render.escape(f"{say('bot.reindex_failed')}\n{exc}"))
        return
    first = say("bot.reindex_queued" if ticket.behind is not None else "bot.reindex_started")
    progress = await delivery.send_html(context.bot, chat.id, render.escape(first),
                                        reply_to=_reply_to(update.effective_message))
    job = await _wait_for_job(jobs, ticket.job.id)
    if job is None:
        text = say("bot.reindex_timeout", minutes=int(REINDEX_WAIT_S // 60))
    elif job.state == "done" and job.report is not None:
        refresh = getattr(st.assistant, "refresh", None)
        if callable(refresh):  # switch now rather than on the next question
            await asyncio.to_thread(refresh, True)
        report = job.report
        text = say("bot.reindex_done", version=report.get("version_id", "?"), documents=report.get("documents", "?"),
                   passages=report.get("passages", "?"), embedded=report.get("passages_embedded", "?"),
                   seconds=_seconds(report.get("seconds")))
        if report.get("skipped"):
            text += "\n" + say("bot.reindex_skipped", items="; ".join(
                f"{item.get('source')}: {item.get('reason')}" for item in report["skipped"]))
    else:
        text = f"{say('bot.reindex_failed')}\n{job.error}" if job.error else say("bot.reindex_failed")
    await delivery.edit_html(context.bot, progress, render.escape(text))


async def _wait_for_job(jobs: Reindexer, job_id: str) -> Job | None:
    """The job once it finished (None after REINDEX_WAIT_S); polls the shared state, never blocks the loop."""
    deadline = time.monotonic() + REINDEX_WAIT_S
    while time.monotonic() < deadline:
        job = await asyncio.to_thread(jobs.job, job_id)
        if job is None or job.finished:
            return job
        await asyncio.sleep(REINDEX_POLL_S)
    return None


# ---------------------------------------------------------------- documents from admins (issue 10, item 5)


async def on_document(update: Update, context: Context) -> None:
    """An admin sends a document: check it as an upload, store it in the corpus, re-index, confirm with passages.

    Anyone else is refused before the file is fetched: Telegram holds the bytes until a getFile and a
    download, and neither happens. The name, the declared size and, once fetched, the content pass the
    same rules as an upload on the web (``ingest.corpusfiles``); a caption becomes the document's title.
    """
    message, user = update.effective_message, update.effective_user
    if message is None or message.document is None or user is None:
        return
    if not await admit(update, context):
        return
    st = state(context)
    if not st.access.is_admin(user.id):
        await _say(update, context, render.escape(say("bot.upload_admin_only")))
        return
    document, corpus, limit = message.document, st.settings.corpus_dir, st.settings.max_upload_bytes
    raw_name = document.file_name or ""
    try:
        name, target = corpusfiles.target_for(corpus, raw_name, replace=True)
    except CorpusFileError as exc:
        await _say(update, context, render.escape(say("bot.upload_refused", reason=exc.message)))
        return
    if document.file_size is not None and document.file_size > limit:
        await _say(update, context, render.escape(say("bot.upload_too_large", size=_megabytes(document.file_size),
                                                      limit=limit // (1024 * 1024))))
        return
    replaced = target.exists()
    tmp = await asyncio.to_thread(corpusfiles.temporary_path, corpus)
    try:
        try:
            telegram_file = await context.bot.get_file(document.file_id)
            if telegram_file.file_size is not None and telegram_file.file_size > limit:
                raise corpusfiles.too_large(limit)
            await telegram_file.download_to_drive(tmp)
            if tmp.stat().st_size > limit:
                raise corpusfiles.too_large(limit)
            name = await asyncio.to_thread(corpusfiles.place, corpus, raw_name, tmp, True)
        except CorpusFileError as exc:
            await _say(update, context, render.escape(say("bot.upload_refused", reason=exc.message)))
            return
        except (TelegramError, OSError) as exc:
            log.warning("could not fetch a document from Telegram: %s", exc)
            await _say(update, context, render.escape(say("bot.upload_failed")))
            return
    finally:
        tmp.unlink(missing_ok=True)
    log.info("an admin added %s to the corpus through Telegram", name)
    caption = (message.caption or "").strip()
    notes = []
    if caption:
        try:
            await asyncio.to_thread(catalog.update_entry, corpus, name, {"title": caption})
        except CatalogError as exc:  # the document is in; only its title is not
            notes.append(exc.message)
    await _index_added(update, context, name, replaced, notes)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",")


async def _index_added(update: Update, context: Context, name: str, replaced: bool, notes: list[str]) -> None:
    """Request the re-index that carries ``name`` and tell the admin how it went, with its passage count."""
    st, chat = state(context), update.effective_chat
    if chat is None:
        return
    try:
        ticket = await asyncio.to_thread(st.reindexer.request, CHANNEL)
    except WegwijzerError as exc:
        log.warning("could not request a re-index: %s", exc)
        await _say(update, context, render.escape(f"{say('bot.reindex_failed')}\n{exc}"))
        return
    first = "\n".join([say("bot.upload_replaced" if replaced else "bot.upload_stored", name=name), *notes])
    progress = await delivery.send_html(context.bot, chat.id, render.escape(first),
                                        reply_to=_reply_to(update.effective_message))
    job = await _wait_for_job(st.reindexer, ticket.job.id)
    if job is None:
        text = say("bot.reindex_timeout", minutes=int(REINDEX_WAIT_S // 60))
    elif job.state != "done" or job.report is None:
        text = f"{say('bot.reindex_failed')}\n{job.error}" if job.error else say("bot.reindex_failed")
    else:
        text = await asyncio.to_thread(_outcome, st.settings, job.report, name)
    await delivery.edit_html(context.bot, progress, render.escape("\n".join([text, *notes])))


def _outcome(settings: Any, report: dict[str, Any], name: str) -> str:
    """What the finished job did with ``name``: its passages in the new version, or why it was skipped."""
    from assistant import index as idx

    version = str(report.get("version_id") or "?")
    reason = next((s.get("reason") for s in report.get("skipped") or [] if s.get("source") == name), None)
    if reason:
        return say("bot.upload_skipped", name=name, reason=reason)
    try:
        entry = idx.open_store(settings).read_manifest(version).document(name)
    except WegwijzerError as exc:
        log.warning("cannot read the manifest of %s: %s", version, exc)
        entry = None
    if entry is None:
        return say("bot.upload_missing", name=name, version=version)
    return say("bot.upload_indexed", name=name, passages=entry.passages, version=version)


async def on_unknown_command(update: Update, context: Context) -> None:
    if await admit(update, context):
        await _say(update, context, render.escape(say("bot.unknown_command")))


async def on_not_text(update: Update, context: Context) -> None:
    if await admit(update, context):
        await _say(update, context, render.escape(say("bot.text_only")))


# ---------------------------------------------------------------- questions


def addressed_text(message: Message, bot_id: int, bot_username: str) -> str | None:
    """The question in ``message``, or None when it is not for the bot.

    In a private chat every text is a question. In a group only a reply to one of the bot's
    messages or a text that mentions the bot is; the mention itself is removed from the question.
    """
    text = message.text or ""
    if message.chat.type not in GROUP_TYPES:
        return text
    replied = message.reply_to_message
    addressed = replied is not None and replied.from_user is not None and replied.from_user.id == bot_id
    cuts = []
    for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        by_name = entity.type == MessageEntity.MENTION and value.lstrip("@").lower() == bot_username.lower()
        by_id = entity.type == MessageEntity.TEXT_MENTION and getattr(entity.user, "id", None) == bot_id
        if by_name or by_id:
            addressed = True
            cuts.append(value)
    if not addressed and bot_username:
        # Telegram marks mentions as entities; a plain "@name" in the text counts too, for clients that do not.
        m = re.search(rf"(?<![\w@])@{re.escape(bot_username)}\b", text, re.IGNORECASE)
        if m is not None:
            addressed = True
            cuts.append(m.group(0))
    if not addressed:
        return None
    for value in cuts:
        text = text.replace(value, " ")
    return " ".join(text.split())


def _keyboard(answer_id: str, with_sources: bool) -> InlineKeyboardMarkup:
    votes = [InlineKeyboardButton(say("bot.button_helpful"), callback_data=f"{HELPFUL}:{answer_id}"),
             InlineKeyboardButton(say("bot.button_not_helpful"), callback_data=f"{NOT_HELPFUL}:{answer_id}")]
    rows = [[InlineKeyboardButton(say("bot.button_sources"), callback_data=f"{SOURCES}:{answer_id}")]] \
        if with_sources else []
    return InlineKeyboardMarkup([*rows, votes])


def _cited(answer: Answer) -> bool:
    """Whether the answer stands on cited passages (the nearest passages to an unanswered question do not)."""
    return answer.found and bool(answer.citations)


def _sources(answer: Answer) -> list[dict[str, object]]:
    return [{"n": c.n, "source": c.source, "title": c.title, "page": c.page, "section": c.section}
            for c in answer.citations] if _cited(answer) else []


def answer_markup(answer: Answer) -> str:
    """The message for an answer: cited text and its sources, then related passages apart; or "not found",
    the passages that came closest (as related reading, never as sources) and a pointer to /bronnen."""
    related = say("bot.related_heading")
    if _cited(answer):
        files = render.source_files(answer.citations)
        where = say("bot.file" if len(files) == 1 else "bot.files", files=", ".join(files))
        html = render.answer_html(answer, say("bot.sources_heading"), related_heading=related)
        if answer.mode == "generated":  # marked above the text, explained below it
            where += "\n" + say("bot.generated_note")
            html = f"<i>{render.escape(say('bot.generated_label'))}</i>\n\n{html}"
        return f"{html}\n\n<i>{render.escape(where)}</i>"
    html = render.answer_html(answer, say("bot.sources_heading"), related_heading=related)
    return f"{html}\n\n{render.escape(say('bot.not_found_hint'))}"


_BARE_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?", re.S)


async def _bare_command(update: Update, context: Context, text: str) -> bool:
    """Route a "/command" that came without Telegram's bot_command entity; False if ``text`` is none."""
    m = _BARE_COMMAND.fullmatch(text.strip())
    if m is None:
        return False
    name, target, rest = m.group(1).lower(), m.group(2), m.group(3) or ""
    if target and target.lower() != (context.bot.username or "").lower():
        return True  # meant for another bot
    context.args = rest.split()
    handler = COMMAND_HANDLERS.get(name)
    if handler is not None:
        await handler(update, context)
    elif update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
        await on_unknown_command(update, context)
    return True


async def on_text(update: Update, context: Context) -> None:
    """Any text that is for the bot: validate, ask (one question at a time per person), answer."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    if (message.text or "").startswith("/") and await _bare_command(update, context, message.text or ""):
        return
    question = addressed_text(message, context.bot.id, context.bot.username)
    if question is None or not await admit(update, context):
        return
    st = state(context)
    if not await _within_limit(update, context, user.id):
        return
    try:
        question = st.assistant.validate(question)
    except InvalidQuestionError as exc:
        await _say(update, context, render.escape(str(exc)))
        return
    if user.id in st.busy:
        await _say(update, context, render.escape(say("bot.busy")))
        return
    st.busy.add(user.id)
    conversation = st.conversation(chat.id)  # one conversation per chat; /nieuw starts a new one
    audiences = _audiences(update, context)
    try:
        if st.streaming:
            await _answer_as_written(update, context, question, conversation, audiences)
            return
        async with delivery.typing(context.bot, chat.id):
            answer = await asyncio.to_thread(st.assistant.ask, question, st.settings.top_k, conversation, audiences)
        answer_id = await _record(st, answer, user.id)
    finally:
        # The question is answered once it is recorded; delivery is Telegram's part. Until now a reply sent the
        # moment the answer arrived could reach the bot before that send returned, and got "Even geduld".
        st.busy.discard(user.id)
    await delivery.send_long_html(context.bot, chat.id, answer_markup(answer),
                                  keyboard=_keyboard(answer_id, _cited(answer)), reply_to=_reply_to(message))


async def _record(st: BotState, answer: Answer, user_id: int) -> str:
    """Keep the answer for its buttons and log the question under the asker's pseudonym (for /mijngegevens)."""
    answer_id = st.remember(answer)
    await asyncio.to_thread(st.store.record_answer, answer_id, CHANNEL, answer.question, answer.found,
                            _sources(answer), Shown.of(answer), st.user_ref(user_id))
    return answer_id


_END = object()


def _audiences(update: Update, context: Context) -> frozenset[str]:
    """The asker's groups (WEGWIJZER_TELEGRAM_AUDIENCES) in a private chat; none in a group, where everyone
    reads the answer."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return EVERYONE
    return state(context).access.audiences(user.id, private=chat.type == ChatType.PRIVATE)


async def _answer_as_written(update: Update, context: Context, question: str, conversation: str,
                             audiences: frozenset[str] = EVERYONE) -> None:
    """A generated answer: typing… until the first sentence has passed the check, then one message that grows
    by checked sentences (edited within Telegram's limits), then replaced by the answer, its sources and buttons.
    Nothing the check did not pass is ever sent."""
    st, chat, message = state(context), update.effective_chat, update.effective_message
    assert chat is not None
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[Any] = asyncio.Queue()

    def produce() -> None:  # in a thread: retrieval, the model's stream and the check block
        try:
            for event in st.assistant.stream(question, st.settings.top_k, conversation, audiences):
                loop.call_soon_threadsafe(events.put_nowait, event)
        except BaseException as exc:  # handed to the handler, which reports it as any handler error
            loop.call_soon_threadsafe(events.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(events.put_nowait, _END)

    producer = asyncio.create_task(asyncio.to_thread(produce))
    every = EDIT_EVERY_GROUP_S if chat.type in GROUP_TYPES else EDIT_EVERY_S
    growing: Message | None = None
    shown, last_edit = "", 0.0
    answer: Answer | None = None
    try:
        async with delivery.typing(context.bot, chat.id):  # typing… until the first checked sentence
            event = await events.get()
            if isinstance(event, Checked):
                shown = event.so_far
                growing = await delivery.send_html(context.bot, chat.id, _draft(shown), reply_to=_reply_to(message))
                last_edit = loop.time()
                event = await events.get()
        while event is not _END:
            if isinstance(event, BaseException):
                raise event
            if isinstance(event, Answer):
                answer = event
            elif growing is not None and isinstance(event, Checked):
                if loop.time() - last_edit >= every and event.so_far != shown:
                    shown = event.so_far
                    await delivery.edit_html(context.bot, growing, _draft(shown))
                    last_edit = loop.time()
            event = await events.get()
    finally:
        await producer
    if answer is None:
        return
    user = update.effective_user
    answer_id = await _record(st, answer, user.id if user is not None else 0)
    markup = answer_markup(answer)
    keyboard = _keyboard(answer_id, _cited(answer))
    if growing is None:
        await delivery.send_long_html(context.bot, chat.id, markup, keyboard=keyboard, reply_to=_reply_to(message))
        return
    wait = every - (loop.time() - last_edit)
    if wait > 0:  # the answer is one more edit: within the chat's pace too
        await asyncio.sleep(wait)
    await delivery.replace_long_html(context.bot, growing, markup, keyboard=keyboard)


def _draft(checked: str) -> str:
    """The checked sentences so far (plain, escaped), under the AI label, cut to fit one message, marked
    unfinished."""
    body = checked.strip()
    if len(body) > 3500:
        body = "…" + body[-3500:]
    return (f"<i>{render.escape(say('bot.generated_label'))}</i>\n\n{render.escape(body)} …\n\n"
            f"<i>{render.escape(say('bot.checked_so_far'))}</i>")


async def _within_limit(update: Update, context: Context, user_id: int) -> bool:
    """The per-person question limit: someone who floods is told once, politely, then ignored until it passes.

    Other people are unaffected: the limit is per person, and a throttled message costs no retrieval.
    """
    st = state(context)
    decision = st.throttle.hit(st.question_limit, str(user_id))
    if decision.allowed:
        return True
    now = time.monotonic()
    if st.throttle_told.get(user_id, 0.0) <= now:
        st.throttle_told[user_id] = now + decision.retry_after
        if len(st.throttle_told) > 10_000:
            st.throttle_told = {k: v for k, v in st.throttle_told.items() if v > now}
        await _say(update, context, render.escape(say("bot.throttled", seconds=decision.retry_after_s)))
    return False


async def _ack(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; a press Telegram no longer accepts answers for (too old) is not an error."""
    try:
        await delivery.with_retries(lambda: query.answer(text), "answerCallbackQuery")
    except BadRequest as exc:
        log.info("could not answer a button press: %s", exc)


async def on_button(update: Update, context: Context) -> None:
    """The buttons under an answer: "Toon bronnen" sends the passages, 👍 / 👎 store feedback."""
    query = update.callback_query
    if query is None:
        return
    st, user = state(context), query.from_user
    if not st.access.is_allowed(user.id):
        await _ack(query)  # stops the spinner; strangers get nothing more
        return
    kind, _, answer_id = (query.data or "").partition(":")
    chat_id = query.message.chat.id if query.message is not None else user.id
    if kind in (FORGET_YES, FORGET_NO):
        await _forget_pressed(query, context, kind, answer_id)
    elif kind == SOURCES:
        await _ack(query)
        answer = st.recall(answer_id)
        if answer is None:
            markup = render.escape(say("bot.sources_expired"))
        elif not _cited(answer) and not answer.related:
            markup = render.escape(say("bot.sources_none"))
        else:
            blocks = []
            if _cited(answer):
                blocks.append(f"<b>{render.escape(say('bot.sources_heading'))}</b>\n\n" +
                              render.passages_html(answer.citations))
            if answer.related:
                blocks.append(f"<b>{render.escape(say('bot.related_heading'))}</b>\n\n" +
                              render.passages_html(answer.related))
            markup = "\n\n".join(blocks)
        await delivery.send_long_html(context.bot, chat_id, markup)
    elif kind in (HELPFUL, NOT_HELPFUL):
        # One vote per answer and person (the store's unique key): a later vote replaces the earlier one,
        # and a double tap stores one row. In a group each member votes for themselves.
        stored = await asyncio.to_thread(st.store.add_feedback, answer_id, CHANNEL, kind == HELPFUL,
                                         user_ref=hash_user(user.id, st.salt))
        await _ack(query, say(FEEDBACK_ACKS[stored]))
    else:
        await _ack(query)


COMMAND_HANDLERS: dict[str, Callable[[Update, Context], Coroutine[Any, Any, None]]] = {
    "start": on_start, "help": on_help, "bronnen": on_sources, "status": on_status, "herindexeer": on_reindex,
    "nieuw": on_new, "mijngegevens": on_my_data, "vergeet": on_forget,
}


# ---------------------------------------------------------------- errors


def _friendly(error: BaseException) -> str:
    if isinstance(error, IndexNotFoundError):
        return t("index.missing")
    if isinstance(error, IngestBusyError):
        return t("index.busy")
    if isinstance(error, InvalidQuestionError):
        return str(error)
    return t("error.internal")


async def on_error(update: object, context: Context) -> None:
    """Log every error once, without the person's message, and tell the person something went wrong."""
    error = context.error
    if error is None:
        return
    if update is None and isinstance(error, NetworkError):
        # Polling hiccup: python-telegram-bot retries getUpdates with backoff by itself.
        log.warning("Telegram is unreachable for now (%s); retrying", error)
        return
    if isinstance(error, Forbidden):  # the person blocked the bot or removed it from the group
        log.info("Telegram refused a message: %s", error)
        return
    state(context).errors.append(error)
    where = f"update {update.update_id}" if isinstance(update, Update) else "a background task"
    if isinstance(error, WegwijzerError):
        log.warning("%s: %s: %s", where, type(error).__name__, error)
    else:
        log.error("unexpected error while handling %s", where, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await delivery.send_html(context.bot, update.effective_chat.id, render.escape(_friendly(error)),
                                 reply_to=_reply_to(update.effective_message))
    except TelegramError as exc:
        log.warning("could not tell the user about the error: %s", exc)
