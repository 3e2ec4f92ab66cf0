"""The `wegwijzer` command: ingest, ask, eval, serve, telegram, setup, status, db.

The CLI is an entry point: it reads settings once, translates Wegwijzer errors into one readable
line on stderr and exit code 1, and never shows a traceback for expected failures.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from assistant.config import Settings, get_settings
from assistant.errors import WegwijzerError
from assistant.logs import configure_logging
from bots.texts import ARGPARSE_NL, t

# The role each long-running command has in log lines (assistant/logs.py); other commands are "cli".
SERVICE_ROLES = {"serve": "web", "watch": "watch", "telegram": "telegram"}


def _at_least_one(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(t("cli.at_least_one", value=raw))
    return value


def _os_reason(exc: OSError) -> str:
    """The OS's reason in Dutch for the errors a wrong folder setting gives; its own words otherwise."""
    key = {errno.ENOENT: "cli.os_missing", errno.ENOTDIR: "cli.os_missing", errno.EACCES: "cli.os_denied",
           errno.EPERM: "cli.os_denied", errno.EROFS: "cli.os_read_only", errno.ENOSPC: "cli.os_full"}.get(
               exc.errno or 0)
    return t(key) if key else str(exc.strerror or exc)


def _dutch_argparse() -> None:
    """argparse takes its own texts ("usage:", "options", its errors) from gettext with no hook of its own;
    shipping a compiled gettext catalogue for one module would be heavier than handing it the table."""
    argparse._ = lambda text: ARGPARSE_NL.get(text, text)  # type: ignore[attr-defined]
    argparse.ngettext = lambda one, many, n: ARGPARSE_NL.get(one if n == 1 else many,  # type: ignore[attr-defined]
                                                             one if n == 1 else many)


def _cmd_setup(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.model.embedding import embedder_for

    emb = embedder_for(settings)
    print(t("cli.model_ready", label=emb.identity.label, dim=emb.identity.dim, fingerprint=emb.identity.fingerprint))
    return 0


def _cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from ingest.build import ingest

    report = ingest(settings, corpus_dir=Path(args.dir) if args.dir else None, progress=not args.quiet)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if report.unchanged:
        print(t("cli.ingest_unchanged", version=report.version_id, documents=report.documents,
                passages=report.passages))
    else:
        print(t("cli.ingest_done", version=report.version_id, documents=report.documents,
                passages=report.passages, embedded_docs=report.documents_embedded,
                embedded=report.passages_embedded, reused=report.documents_reused,
                removed=report.documents_removed, seconds=f"{report.seconds:.1f}"))
    for item in report.skipped:
        print(t("ingest.skipped", source=item["source"], reason=item["reason"]), file=sys.stderr)
    for warning in report.warnings:
        print(t("cli.warning", warning=warning), file=sys.stderr)
    return 0


def _audiences(args: argparse.Namespace) -> frozenset[str]:
    """``--audience personeel`` (repeatable, or comma-separated): ask as someone in those groups."""
    from assistant.audience import audiences_of

    return audiences_of(name for value in args.audience for name in value.split(",") if name.strip())


def _cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from assistant import Assistant

    answer = Assistant.load(settings=settings).ask(args.question, top_k=args.top_k, audiences=_audiences(args))
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(answer.text)
    for heading, citations in ((t("bot.sources_heading"), answer.citations),
                               (t("bot.related_heading"), answer.related)):
        if not citations:
            continue
        print(f"\n{heading}:")
        for c in citations:
            where = f", p. {c.page}" if c.page else ""
            section = f" — {c.section}" if c.section else ""
            print(f"\n[{c.n}] {c.title}{where}{section}  ({c.source}, score {c.score:.3f})")
            print("    " + c.text.replace("\n", "\n    "))
    return 0


def _print_answer(answer: Any, out: TextIO) -> None:
    """An answer as a person reads it in a terminal: the text, then its sources in one line each."""
    print(f"\n{answer.text}", file=out)
    if answer.mode == "generated" and answer.found:
        print(t("cli.chat_generated"), file=out)
    if answer.found and answer.citations:
        print(f"\n{t('bot.sources_heading')}:", file=out)
        for c in answer.citations:
            where = f", {t('cite.page', page=c.page)}" if c.page else ""
            section = f" — {c.section}" if c.section else ""
            print(f"  [{c.n}] {c.title}{where}{section}", file=out)
    print(file=out, flush=True)


def _cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """An interactive conversation: follow-ups are read with the earlier questions (issue 11)."""
    from assistant import Assistant
    from assistant.errors import InvalidQuestionError
    from assistant.stores.conversation import new_conversation_id

    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401  (line editing and history for input(); stdlib on Linux and macOS)
        except ImportError:  # Windows without pyreadline: plain input still works
            pass
    assistant = Assistant.load(settings=settings, follow=True)
    conversation = new_conversation_id()
    print(t("cli.chat_welcome"), flush=True)
    while True:
        try:
            line = input(t("cli.chat_prompt") if interactive else "")
        except EOFError:
            print(t("cli.chat_bye") if interactive else "")
            return 0
        except KeyboardInterrupt:  # Ctrl+C clears the line, as in a shell; Ctrl+D ends
            print()
            continue
        question = line.strip()
        if not question:
            continue
        if question.lower() in ("/stop", "/exit", "/quit", "/klaar"):
            print(t("cli.chat_bye"))
            return 0
        if question.lower() in ("/nieuw", "/new"):
            assistant.forget(conversation)
            conversation = new_conversation_id()
            print(t("cli.chat_new"), flush=True)
            continue
        try:
            answer = assistant.ask(question, top_k=args.top_k, conversation=conversation, audiences=_audiences(args))
        except InvalidQuestionError as exc:
            print(str(exc), file=sys.stderr, flush=True)
            continue
        _print_answer(answer, sys.stdout)


def _cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from assistant import Assistant
    from assistant.evaluation import evaluate, format_report, read_questions
    from assistant.types import Answer

    assistant = Assistant.load(settings=settings, follow=False)
    assistant.ask("opwarmen")  # first call pays one-off costs; keep them out of the latency figures
    questions = [q for path in args.questions for q in read_questions(Path(path))]
    conversations: set[str] = set()

    def ask_in(question: str, conversation: str) -> Answer:
        conversations.add(conversation)
        return assistant.ask(question, top_k=args.top_k, conversation=conversation)

    try:
        result = evaluate(lambda q: assistant.ask(q, top_k=args.top_k), questions,
                          ask_in=None if args.alone else ask_in)
    finally:
        for conversation in conversations:  # the evaluation's conversations are nobody's: leave none behind
            assistant.forget(conversation)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else format_report(result))
    return 0


def _cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from .status import collect, render

    status = collect(settings)
    if args.json:
        if status is None:
            print(t("index.missing"))
        else:
            print(json.dumps(status, indent=2, ensure_ascii=False))
    else:
        print(render(status, settings))
    return 0 if status is not None else 1


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from bots.web import serve

    serve(settings.with_(host=args.host or settings.host, port=args.port or settings.port), workers=args.workers)
    return 0


def _cmd_watch(settings: Settings, args: argparse.Namespace) -> int:
    import signal
    import threading

    from ingest.jobs import Reindexer
    from ingest.watch import CorpusWatcher

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    log = logging.getLogger("ingest.watch")
    log.info("%s", t("watch.started", corpus=settings.corpus_dir, quiet=f"{settings.watch_quiet_s:g}"))
    watcher = CorpusWatcher(settings, Reindexer(settings), on_event=lambda text: log.info("%s", text))
    try:
        watcher.run(stop)
    except KeyboardInterrupt:
        pass
    return 0


def _local_server(settings: Settings):  # type: ignore[no-untyped-def]
    from bots.localdb import LocalServer

    return LocalServer(settings.data_dir / "postgres")


def _cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    from bots.localdb import SYSTEM_USER

    action = args.action
    if action == "start":
        server = _local_server(settings)
        before = server.status()
        status = before if before.running else server.start(port=args.port)
        if server.relocated and not before.running:
            link = settings.data_dir / "postgres"
            print(t("db.relocated", user=SYSTEM_USER, data=settings.data_dir, target=server.pgdata, link=link))
        print(t("db.already_running" if before.running else "db.started", url=status.url))
        return 0
    if action == "stop":
        server = _local_server(settings)
        print(t("db.stopped") if server.stop() else t("db.not_running", pgdata=server.pgdata))
        return 0
    if action == "status":
        server = _local_server(settings)
        status = server.status()
        if not status.running:
            print(t("db.not_running", pgdata=server.pgdata))
            return 1
        print(t("db.status_running", pid=status.pid, url=status.url, pgdata=status.pgdata))
        return 0
    from assistant import index as idx
    from assistant.index.transfer import copy_version
    from assistant.stores.factory import open_stores

    if open_stores(settings).database is None:
        print(f"wegwijzer: {t('db.needs_url')}", file=sys.stderr)
        return 1
    files, database = idx.FileIndexStore(settings.index_dir), idx.open_store(settings)
    source, target = (files, database) if action == "import" else (database, files)
    version = copy_version(source, target, version=args.version, publish=not args.no_publish)
    passages = target.read_manifest(version).passage_count
    published = "" if args.no_publish else t("db.published_suffix")
    if action == "import":
        print(t("db.imported", version=version, passages=passages, published=published))
    else:
        print(t("db.exported", version=version, passages=passages, path=settings.index_dir, published=published))
    return 0


def _cmd_telegram(settings: Settings, args: argparse.Namespace) -> int:
    from bots.telegram import run

    run(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    _dutch_argparse()
    parser = argparse.ArgumentParser(prog="wegwijzer", description=t("cli.description"))
    parser.add_argument("-v", "--verbose", action="store_true", help=t("cli.help.verbose"))
    sub = parser.add_subparsers(dest="command", required=True, title=t("cli.help.commands"), metavar="OPDRACHT")

    p = sub.add_parser("setup", help=t("cli.help.setup"))
    p.set_defaults(func=_cmd_setup)

    p = sub.add_parser("ingest", help=t("cli.help.ingest"))
    p.add_argument("dir", nargs="?", help=t("cli.help.corpus_dir"), metavar="MAP")
    p.add_argument("--json", action="store_true", help=t("cli.help.ingest_json"))
    p.add_argument("-q", "--quiet", action="store_true", help=t("cli.help.quiet"))
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("ask", help=t("cli.help.ask"))
    p.add_argument("--audience", action="append", default=[], help=t("cli.help.audience"), metavar="GROEP")
    p.add_argument("question", help=t("cli.help.question"), metavar="VRAAG")
    p.add_argument("--json", action="store_true", help=t("cli.help.ask_json"))
    p.add_argument("--top-k", type=int, default=None, help=t("cli.help.top_k"), metavar="N")
    p.set_defaults(func=_cmd_ask)

    p = sub.add_parser("chat", help=t("cli.chat_help"), description=t("cli.chat_help"))
    p.add_argument("--top-k", type=int, default=None, help=t("cli.help.top_k"), metavar="N")
    p.add_argument("--audience", action="append", default=[], help=t("cli.help.audience"), metavar="GROEP")
    p.set_defaults(func=_cmd_chat)

    p = sub.add_parser("eval", help=t("cli.help.eval"))
    p.add_argument("questions", nargs="+", help=t("cli.help.eval_files"), metavar="VRAGEN")
    p.add_argument("--json", action="store_true", help=t("cli.help.eval_json"))
    p.add_argument("--top-k", type=int, default=5, help=t("cli.help.top_k"), metavar="N")
    p.add_argument("--alleen", dest="alone", action="store_true", help=t("cli.help.eval_alone"))
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("status", help=t("cli.help.status"))
    p.add_argument("--json", action="store_true", help=t("cli.help.status_json"))
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("serve", help=t("cli.help.serve"))
    p.add_argument("--host", default=None, help=t("cli.help.host"))
    p.add_argument("--port", type=int, default=None, help=t("cli.help.port"))
    p.add_argument("--workers", type=_at_least_one, default=1, help=t("cli.help.workers"))
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("watch", help=t("watch.help"), description=t("watch.help"))
    p.set_defaults(func=_cmd_watch)

    p = sub.add_parser("db", help=t("db.help"), description=t("db.help"))
    dbsub = p.add_subparsers(dest="action", required=True, title=t("cli.help.commands"), metavar="OPDRACHT",
                             help=t("db.action_help"))
    q = dbsub.add_parser("start", help=t("db.start_help"), description=t("db.start_help"))
    q.add_argument("--port", type=int, default=None, help=t("db.port_help", port=5433))
    dbsub.add_parser("stop", help=t("db.stop_help"), description=t("db.stop_help"))
    dbsub.add_parser("status", help=t("db.status_help"), description=t("db.status_help"))
    for name in ("import", "export"):
        q = dbsub.add_parser(name, help=t(f"db.{name}_help"), description=t(f"db.{name}_help"))
        q.add_argument("--version", default=None, help=t("db.version_help"))
        q.add_argument("--no-publish", action="store_true", help=t("db.no_publish_help"))
    p.set_defaults(func=_cmd_db)

    p = sub.add_parser("telegram", help=t("cli.help.telegram"))
    p.set_defaults(func=_cmd_telegram)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        # Services log what they do; a one-shot command only its warnings, unless asked (-v).
        role = SERVICE_ROLES.get(args.command, "cli")
        configure_logging(role, logging.INFO if args.verbose or role != "cli" else logging.WARNING)
        settings = get_settings()
        if getattr(args, "top_k", 0) is None:
            args.top_k = settings.top_k
        return int(args.func(settings, args))
    except WegwijzerError as exc:
        print(f"wegwijzer: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `wegwijzer ask … | head`: the reader left; no traceback (Python docs' recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # a data or corpus folder that is missing or may not be written: a setting to fix
        if args.verbose:
            logging.getLogger(__name__).exception("%s", exc)
        print(f"wegwijzer: {t('cli.os_error', path=exc.filename or '?', reason=_os_reason(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
