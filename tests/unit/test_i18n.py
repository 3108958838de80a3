"""Messages in English, Spanish and Portuguese: the catalogues, the choice of language, and
the CLI's own messages in each (docs/i18n.md)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from dspace_deploy import i18n
from dspace_deploy.cli import app
from dspace_deploy.errors import Problem, ValidationFailed
from tests.unit.test_status import REFUSED, _report_event, _stats, fake_run  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "dspace-deploy")
LOCALE_VARIABLES = ("DSPACE_DEPLOY_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def _tool() -> ModuleType:
    """scripts/i18n, the catalogue tool, as a module."""
    loader = importlib.machinery.SourceFileLoader("i18n_tool", str(REPO / "scripts" / "i18n"))
    spec = importlib.util.spec_from_loader("i18n_tool", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_catalogues_are_complete_and_compiled() -> None:
    """The template holds every `_()` string of the sources (and no other), each language
    has every message translated and reviewed (not fuzzy, same {fields}), and each committed
    .mo is what its .po compiles to. After a merge: ./scripts/i18n, translate, rerun."""
    problems = _tool().problems()
    assert not problems, "catalogues out of step:\n" + "\n".join(problems)


def test_the_check_sees_a_new_string_and_an_untranslated_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The completeness check can fail: a new marked string in a copy of the package is
    reported as missing from the template, then as untranslated once merged."""
    import shutil

    tool = _tool()
    package = tmp_path / "dspace_deploy"
    shutil.copytree(REPO / "dspace_deploy", package,
                    ignore=shutil.ignore_patterns("__pycache__", "_content"))
    (package / "extra.py").write_text(
        'from dspace_deploy.i18n import _\n\n\ndef f() -> str:\n'
        '    return _("A message nobody translated yet.")\n')
    monkeypatch.setattr(tool, "PACKAGE", package)
    monkeypatch.setattr(tool, "LOCALE", package / "locale")
    monkeypatch.setattr(tool, "TEMPLATE", package / "locale" / "dspace-deploy.pot")
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    monkeypatch.setattr(tool, "_hidden_calls", list)  # tested on its own below
    found = "\n".join(tool.problems())
    assert "is stale (1 new, 0 gone)" in found
    assert "A message nobody translated yet." in found
    tool.update_catalogues(tool.update_template())
    tool.compile_catalogues()
    found = tool.problems()
    assert found == ["es: untranslated: 'A message nobody translated yet.'",
                     "pt: untranslated: 'A message nobody translated yet.'"]
    po = package / "locale" / "es" / "LC_MESSAGES" / "dspace-deploy.po"
    po.write_text(po.read_text().replace('msgstr "Interrumpido."', 'msgstr "¡Interrumpido!"'))
    assert ("dspace_deploy/locale/es/LC_MESSAGES/dspace-deploy.mo differs from its .po: run "
            "./scripts/i18n --compile") in tool.problems()


def test_a_call_inside_an_f_string_is_reported(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.11 tokenizes an f-string as one string: Babel would never extract these."""
    tool = _tool()
    (tmp_path / "dspace_deploy").mkdir()
    (tmp_path / "dspace_deploy" / "m.py").write_text(
        'a = f"{_(\'x\')} y"\nb = f"run: {i18n._(\'asking\')}"\nc = _("fine") + f"{d}"\n')
    monkeypatch.setattr(tool, "PACKAGE", tmp_path / "dspace_deploy")
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    assert [line.split(": ")[0] for line in tool._hidden_calls()] == [
        "dspace_deploy/m.py:1", "dspace_deploy/m.py:2"]


def test_translation_memory_fills_messages_of_other_branches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A message translated ahead in scripts/i18n-memory/ (e.g. one of another branch's) is
    filled in by ./scripts/i18n as soon as the sources mark it, not left to the lead; each
    language from its own memory (Babel adds a new message to every catalogue as the same
    object: filled in place, Spanish had landed in the Portuguese catalogue)."""
    import shutil

    tool = _tool()
    package = tmp_path / "dspace_deploy"
    shutil.copytree(REPO / "dspace_deploy", package,
                    ignore=shutil.ignore_patterns("__pycache__", "_content"))
    (package / "extra.py").write_text(
        'from dspace_deploy.i18n import _\n\n\ndef f() -> str:\n'
        '    return _("A message translated on another branch.")\n')
    memory = tmp_path / "memory"
    memory.mkdir()
    for language, text in (("es", "Un mensaje traducido en otra rama."),
                           ("pt", "Uma mensagem traduzida em outro branch.")):
        (memory / f"{language}.po").write_text(
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
            f'msgid "A message translated on another branch."\nmsgstr "{text}"\n')
    for name, value in (("PACKAGE", package), ("LOCALE", package / "locale"),
                        ("TEMPLATE", package / "locale" / "dspace-deploy.pot"),
                        ("ROOT", tmp_path), ("MEMORY", memory), ("_hidden_calls", list)):
        monkeypatch.setattr(tool, name, value)
    tool.update_catalogues(tool.update_template())
    tool.compile_catalogues()
    assert tool.problems() == []
    es = (package / "locale" / "es" / "LC_MESSAGES" / "dspace-deploy.po").read_text()
    assert 'msgstr "Un mensaje traducido en otra rama."' in es
    pt = (package / "locale" / "pt" / "LC_MESSAGES" / "dspace-deploy.po").read_text()
    assert 'msgstr "Uma mensagem traduzida em outro branch."' in pt


@pytest.mark.parametrize(("env", "language"), [
    ({}, "en"),
    ({"LANG": "es_PE.UTF-8"}, "es"),
    ({"LANG": "pt_BR.UTF-8"}, "pt"),
    ({"LANG": "fr_FR.UTF-8"}, "en"),
    ({"LC_ALL": "pt_BR.UTF-8", "LANG": "es_CO.UTF-8"}, "pt"),
    ({"LC_MESSAGES": "es_MX.UTF-8", "LANG": "pt_BR.UTF-8"}, "es"),
    ({"LANGUAGE": "fr:pt_BR:es", "LANG": "es_AR.UTF-8"}, "pt"),
    ({"LANGUAGE": "es", "LC_ALL": "C"}, "en"),  # the C locale means untranslated (GNU)
    ({"LANGUAGE": "es", "LANG": "C.UTF-8"}, "en"),
    ({"DSPACE_DEPLOY_LANG": "pt", "LANG": "es_PE.UTF-8"}, "pt"),
    ({"DSPACE_DEPLOY_LANG": "xx", "LANG": "es_PE.UTF-8"}, "es"),
])
def test_language_from_the_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                       language: str) -> None:
    for variable in LOCALE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    assert i18n.pick() == language
    assert i18n.pick("es-419") == "es"  # an explicit choice wins


def test_catalogues_translate_plurals_by_each_languages_rule() -> None:
    one = "The inventory has {count} problem; no host was contacted."
    many = "The inventory has {count} problems; no host was contacted."
    i18n.use("pt")  # Brazilian Portuguese: 0 and 1 are singular
    assert i18n.ngettext(one, many, 0).startswith("O inventário tem {count} problema;")
    assert i18n.ngettext(one, many, 2).startswith("O inventário tem {count} problemas;")
    i18n.use("es")  # Spanish: only 1 is singular
    assert i18n.ngettext(one, many, 0).startswith("El inventario tiene {count} problemas;")
    i18n.use("en")
    assert i18n.ngettext(one, many, 1) == one


def test_validation_errors_in_spanish() -> None:
    i18n.use("es")
    error = ValidationFailed([Problem("group_vars/all/site.yml", "site_name", "missing",
                                      "Set it")])
    assert str(error).startswith("El inventario tiene 1 problema; no se contactó ningún host.")


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in LOCALE_VARIABLES}
    return subprocess.run([EXE, *args], capture_output=True, text=True, check=False,
                          env={**clean, **env})


def test_lang_option_translates_the_cli_messages() -> None:
    from dspace_deploy.errors import InputError

    result = CliRunner().invoke(app, ["--lang", "es", "lab", "down"])
    assert isinstance(result.exception, InputError)  # main() prints it, exit 2
    assert str(result.exception) == ("Indique un nombre de laboratorio o --all. "
                                     "P. ej. `dspace-deploy lab down demo`.")


def test_the_locale_chooses_the_language_of_a_real_run(tmp_path: Path) -> None:
    result = _cli("validate", "-i", str(tmp_path / "missing"), LANG="pt_BR.UTF-8")
    assert result.returncode == 2
    assert result.stderr.startswith("erro: "), result.stderr
    result = _cli("lab", "down", LANG="pt_BR.UTF-8")
    assert "erro: Informe um nome de laboratório ou --all." in result.stderr
    result = _cli("--lang", "en", "lab", "down", LANG="pt_BR.UTF-8")
    assert "error: Give either a lab name or --all." in result.stderr


def test_json_documents_stay_english_unless_lang_is_given() -> None:
    """A script's --json does not change with the host's locale; --lang asks for it."""
    result = _cli("lab", "down", "--json", LANG="es_PE.UTF-8")
    assert json.loads(result.stdout)["error"].startswith("Give either a lab name or --all.")
    result = _cli("--lang", "pt", "lab", "down", "--json", LANG="es_PE.UTF-8")
    document = json.loads(result.stdout)
    assert set(document) == {"ok", "exit_code", "error"}  # keys are never translated
    assert document["error"].startswith("Informe um nome de laboratório ou --all.")


def test_an_unknown_language_is_bad_input() -> None:
    result = _cli("--lang", "fr", "lab", "list")
    assert result.returncode == 2
    assert "--lang fr: not a language dspace-deploy speaks." in result.stderr
    assert "Traceback" not in result.stderr


def _words(text: str) -> str:
    return " ".join(text.split())  # click wraps the help texts


def test_help_texts_follow_the_language() -> None:
    """Commands' and options' help (the fleet rollout's among them) are translated as the
    help is printed: for the locale, and for --lang, which the root reads before a verb's
    --help. Typer's own words ("Options:", "Show this message and exit.") stay English."""
    result = _cli("upgrade", "--help", LANG="es_ES.UTF-8")
    assert result.returncode == 0, result.stderr
    page = _words(result.stdout)
    assert "Actualiza las instancias a la versión que indica el inventario" in page
    assert "--waves <str> Actualiza los hosts en olas, p. ej. 1,5,20%" in page
    assert "--resume Continúa el último despliegue sin terminar del sitio" in page
    assert "-i, --inventory <path> Directorio del inventario del sitio" in page  # shared option
    assert "Upgrade the hosts in waves" not in page and "Options:" in page
    page = _words(_cli("--lang", "pt", "upgrade", "--help", LANG="es_ES.UTF-8").stdout)
    assert "--max-fail <str> Hosts com falha tolerados" in page
    page = _words(_cli("upgrade", "--help").stdout)  # no locale: English, as written
    assert "--waves <str> Upgrade the hosts in waves, e.g. 1,5,20%" in page


def test_the_root_help_reads_lang_from_the_command_line() -> None:
    """`--help` of the root is printed while the root's options are parsed, before its
    callback; the verbs listed there show their translated first sentence."""
    page = _words(_cli("--lang", "es", "--help", LANG="pt_BR.UTF-8").stdout)
    assert "Despliega y opera repositorios DSpace y DSpace-CRIS con Ansible." in page
    assert "upgrade Actualiza las instancias" in page
    page = _words(_cli("--help", LANG="pt_BR.UTF-8").stdout)
    assert "--version Imprime a versão." in page


def test_every_help_text_is_in_the_catalogues() -> None:
    """The completeness check covers the help texts, which no `_()` marks: the catalogue
    tool takes them from the built command tree."""
    texts = dict(_tool().help_texts())
    assert texts["Upgrade the hosts in waves, e.g. 1,5,20% (Ansible's serial list: the last "
                 "size repeats; a percentage is of the rollout's hosts, at least 1)."] == (
        "dspace_deploy/cli/upgrade_cmds.py")
    assert "Show this message and exit." not in texts  # typer's own


def test_status_table_in_portuguese() -> None:
    from dspace_deploy.status import HostStatus, StatusReport, print_report

    report = StatusReport()
    report.hosts["web1"] = HostStatus("web1", reachable=False, error="ssh: timeout")
    console = Console(record=True, width=140)
    i18n.use("pt")
    print_report(console, report)
    text = console.export_text()
    assert "saúde" in text and "inacessível" in text and "algo está fora do ar" in text


def test_run_summary_in_spanish() -> None:
    from datetime import UTC, datetime, timedelta

    from dspace_deploy.display import print_summary
    from dspace_deploy.events import HostStats, RunSummary

    start = datetime(2026, 1, 1, tzinfo=UTC)
    summary = RunSummary(hosts={"web1": HostStats(ok=3, changed=1)}, started=start,
                         finished=start + timedelta(seconds=2.5), stats_seen=True)
    console = Console(record=True, width=140)
    i18n.use("es")
    print_summary(console, summary, "/runs/x")
    text = console.export_text()
    assert "Resumen" in text and "cambiados" in text and "ok en 2.5 s" in text


def test_validation_problems_follow_the_language(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Each problem of a broken inventory (what and fix) is in the language asked for; the
    --json document keeps its keys and, without --lang, its English text."""
    from tests.unit.fixtures.helpers import build, run_cli, secrets_for

    vault = {**secrets_for("repo"),
             "vault_backup_secrets": {"local": {"password": "bk-Pw-0123456789abc"}}}
    root, password = build(tmp_path / "site", {"group_vars/all/extra.yml": {"dspace_javaa": 21}},
                           vault=vault)
    args = ["validate", "-i", str(root), "--vault-password-file", str(password)]
    code, _out, err = run_cli("--lang", "es", *args)
    assert code == 2
    assert "El inventario tiene 1 problema; no se contactó ningún host." in err
    assert "dspace_javaa: no es una variable que dspace-deploy conozca." in err

    for variable in LOCALE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "pt_BR.UTF-8")
    code, _out, err = run_cli(*args)
    assert code == 2 and "O inventário tem 1 problema; nenhum host foi contatado." in err
    code, out, _err = run_cli(*args, "--json")
    problem = json.loads(out)["problems"][0]
    assert set(problem) == {"location", "key", "what", "fix"}
    assert problem["what"] == "is not a variable dspace-deploy knows"


def test_status_verb_in_spanish(request: pytest.FixtureRequest) -> None:
    """`--lang es status`: the table, the problems and the verdict in Spanish; the --json
    document of the same run stays English."""
    canned: dict[str, Any] = request.getfixturevalue("fake_run")  # tests/unit/test_status.py
    canned["events"] = [_report_event("web1", health=[REFUSED]), _stats("web1")]
    result = CliRunner().invoke(app, ["--lang", "es", "status"], env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert "salud" in result.stdout and "algo está caído" in result.stdout
    assert "salud: sin respuesta" in result.stdout
    spanish_host = {"LANG": "es_PE.UTF-8", "DSPACE_DEPLOY_LANG": None}  # None: unset
    result = CliRunner().invoke(app, ["status"], env={**spanish_host, "COLUMNS": "250"})
    assert "algo está caído" in result.stdout
    result = CliRunner().invoke(app, ["status", "--json"], env=spanish_host)
    problems = json.loads(result.stdout)["hosts"]["web1"]["instances"][0]["problems"]
    assert any(p.startswith("health: no answer") for p in problems), problems
