"""Controller side of dspace.deploy.staged_archive: the archive's SHA-256 and its presence on
the controller, and its transfer to the host only when the directory it names is not
installed yet (the module's documentation)."""

from __future__ import annotations

import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

# The module's own checksums and messages, so that the controller and the host cannot disagree.
from ansible_collections.dspace.deploy.plugins.modules.staged_archive import (
    digests,
    sha512_matches,
    sha512_refusal,
)

MODULE = "dspace.deploy.staged_archive"


class ActionModule(ActionBase):
    # The temporary directory is made only for a transfer (not on runs that find the
    # directory installed).
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        try:
            if args.get("remote_src"):
                result.update(self._execute_module(module_name=MODULE, module_args=args,
                                                   task_vars=task_vars))
                return result
            result.update(self._from_controller(args, task_vars or {}))
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

    def _from_controller(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        src = os.path.expanduser(str(args.get("src") or ""))
        for name in ("root", "require"):
            if not args.get(name):
                raise AnsibleActionFail(f"staged_archive needs {name}.")
        if args.get("name") is not None:
            # A fixed name: one look at the host (pointing `link` when installed) before the
            # archive is even read; an installed directory needs neither it nor its checksum.
            probe = self._execute_module(
                module_name=MODULE, task_vars=task_vars,
                module_args={**args, "remote_src": True, "probe": True})
            if probe.get("failed") or probe.get("installed"):
                probe.pop("installed", None)
                return probe
        if not (os.path.isabs(src) and os.path.isfile(src)):
            raise AnsibleActionFail(args.get("missing_msg") or
                                    f"{src or 'src'} is not an absolute path of a file on the "
                                    "controller.")
        try:
            digits = int(args.get("digits", 64))
        except (TypeError, ValueError):
            raise AnsibleActionFail(f"digits is {args.get('digits')!r}; give 1 to 64.") from None
        if not 1 <= digits <= 64:
            raise AnsibleActionFail(f"digits is {digits}; give 1 to 64.")
        checksum, sha512 = digests(src, args.get("sha512") is not None)
        given = args.get("checksum")
        if given and given.lower() != checksum:
            raise AnsibleActionFail(f"{src} on the controller has SHA-256 {checksum}, not {given}.")
        if not sha512_matches(args, sha512):
            # Refused before anything is copied to the host.
            raise AnsibleActionFail(sha512_refusal({**args, "src": src}, sha512))
        if args.get("name") is not None:
            dest = os.path.join(str(args["root"]), str(args["name"]))
        else:
            dest = os.path.join(str(args["root"]), checksum[:digits])
            # One look at the host while the directory is installed (every run after the first).
            found = self._execute_remote_stat(os.path.join(dest, str(args["require"])),
                                              all_vars=task_vars, follow=False, checksum=False)
            if found["exists"]:
                return {"checksum": checksum, "path": dest, "changed": False}
        done = {"checksum": checksum, "path": dest}
        if self._task.check_mode:
            return {**done, "changed": True}
        shell = self._connection._shell
        if shell.tmpdir is None:
            self._make_tmp_path()
        copy = shell.join_path(shell.tmpdir, "archive.tar.gz")
        self._transfer_file(src, copy)
        self._fixup_perms2((shell.tmpdir, copy))
        answer = self._execute_module(
            module_name=MODULE, task_vars=task_vars,
            # The SHA-256 check on the host proves the copy is the file checked here: no SHA-512
            # there again.
            module_args={**args, "src": copy, "remote_src": True, "checksum": checksum,
                         "sha512": None})
        if answer.get("msg"):
            # The module names the file it was given: the temporary copy.
            answer["msg"] = str(answer["msg"]).replace(f"The copy of {copy}", f"The copy of {src}")
            answer["msg"] = answer["msg"].replace(copy, src)
        return answer
