"""Reading facility files: safe TOML with size and depth limits, ``include`` lists and
hall ``file``/``template``/``count`` entries, all inside the facility's folder.

Order (``docs/facility-format.md``, "Changing an included facility"): every file is read
with its own includes, and its hall entries are expanded (``file``, ``template``,
``count``) before the file that includes it merges its changes by name. An included file
therefore means what it says on its own: the including file changes its halls as they
come out of it (a copy ``H02`` of a ``count = 3`` entry ``H`` by that name, all copies by
``H``), and a change to a template hall does not reach the included copies made from it.
The files of one ``include`` list are expanded together (:func:`_expand_together`): a
hall of one may name a hall of another (a sibling) as its template, in any order.
"""
from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from .diagnostics import Diagnostic, _display, did_you_mean
from .schema import (_MAX_INCLUDE_DEPTH, BUILTIN_DIR, BUILTIN_INCLUDES, MAX_FILE_BYTES,
                     MAX_HALL_COPIES, MAX_NESTING)


# ------------------------------------------------------------------ reading and includes
class _PathError(Exception):
    pass


def _inside(ref: str, base_dir: Path, root_dir: Path) -> Path:
    """Resolve ``ref`` relative to ``base_dir``; refuse anything outside ``root_dir``."""
    if ref.startswith("builtin:"):
        key = ref[len("builtin:"):]
        if key not in BUILTIN_INCLUDES:
            raise _PathError(f"'{ref}' is not a builtin file{did_you_mean(key, BUILTIN_INCLUDES)}; "
                             f"builtins: {', '.join('builtin:' + k for k in BUILTIN_INCLUDES)}")
        return (BUILTIN_DIR / BUILTIN_INCLUDES[key]).resolve()
    p = Path(ref).expanduser()
    target = (p if p.is_absolute() else base_dir / p).resolve()
    root = root_dir.resolve()
    if target != root and root not in target.parents:
        raise _PathError(f"'{ref}' resolves to {target}, outside the facility's folder {root}; "
                         "included files must lie inside the folder of the facility file "
                         "(copy the file there, or use 'builtin:racks' for the shipped rack library)")
    return target


def _nesting_depth(doc) -> int:
    """Deepest nesting of tables and arrays in a parsed document (iterative)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_NESTING:
            return d
        kids = node.values() if isinstance(node, dict) else node
        stack.extend((k, d + 1) for k in kids if isinstance(k, (dict, list)))
    return deepest


def _read_toml(path: Path, diags: list, via: str = "", text: str | None = None):
    where = _display(path)
    if text is None:
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                diags.append(Diagnostic("error", where, via, _too_big(size)))
                return None
            data = path.read_bytes()
        except FileNotFoundError:
            diags.append(Diagnostic("error", where, via, "file not found"))
            return None
        except IsADirectoryError:
            diags.append(Diagnostic("error", where, via, "is a folder; give a TOML file"))
            return None
        except OSError as exc:
            diags.append(Diagnostic("error", where, via, f"cannot be read: {exc}"))
            return None
        if len(data) > MAX_FILE_BYTES:
            diags.append(Diagnostic("error", where, via, _too_big(len(data))))
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            diags.append(Diagnostic(
                "error", where, via,
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col} "
                "(a facility file must be UTF-8 TOML text; re-save it as UTF-8, e.g. "
                "'iconv -f latin1 -t utf-8', or include only .toml files)"))
            return None
    elif len(text) > MAX_FILE_BYTES:
        diags.append(Diagnostic("error", where, via, _too_big(len(text.encode("utf-8", "replace")))))
        return None
    text = text.removeprefix("\ufeff")     # a UTF-8 byte-order mark, as some editors write
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        if msg.endswith("(at end of document)"):
            n_lines = text.count("\n") + (not text.endswith("\n"))
            msg = (msg.removesuffix(")") + f", line {n_lines}: is the file cut short? "
                   "compare it with the original)")
        diags.append(Diagnostic("error", where, "", f"not valid TOML: {msg}"))
        return None
    except RecursionError:
        doc = None
    if doc is None or _nesting_depth(doc) > MAX_NESTING:
        diags.append(Diagnostic("error", where, "",
                                f"arrays, inline tables or dotted keys nest deeper than "
                                f"{MAX_NESTING} levels; a facility file needs a few (flatten the "
                                "nesting)"))
        return None
    return doc


def _too_big(size: int) -> str:
    return (f"the file is {size / 2 ** 20:.1f} MiB; a facility file may be at most "
            f"{MAX_FILE_BYTES // 2 ** 20} MiB (split it into included files, or is this the "
            "right file?)")


def _tag_origins(doc: dict, path: Path):
    """Mark top-level list items and rack types with the file they came from."""
    for key, val in doc.items():
        if isinstance(val, list):
            for item in val:
                if isinstance(item, dict):
                    item.setdefault("__origin__", str(path))
        elif key == "rack_types" and isinstance(val, dict):
            for item in val.values():
                if isinstance(item, dict):
                    item.setdefault("__origin__", str(path))


_MARKERS = ("__origin__", "__overrides__", "__entry__")


def _strip(d):
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k not in _MARKERS}
    if isinstance(d, list):
        return [_strip(v) for v in d]
    return d


def _named(item) -> str | None:
    return item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None


def _merge_by_name(base: list, change: list, problems: list | None = None) -> list:
    """The merge-by-name rule: ``base`` (an included file's array of tables, its halls
    expanded) changed by ``change`` (the including file's). An item of ``change`` named
    like an item of ``base`` is a change of that item (:func:`_change_item`), in its place;
    one named like the entry of a ``count`` group of halls changes every copy
    (:func:`_change_copies`); the other items of ``change`` follow ``base``'s, in their
    order. ``problems`` gets ``(name, message)`` of changes that cannot be made."""
    out = copy.deepcopy(base)
    for it in change:
        name = _named(it)
        index = {_named(x): i for i, x in enumerate(out) if _named(x) is not None}
        group = [i for i, x in enumerate(out) if isinstance(x, dict) and x.get("__entry__") == name]
        if name is not None and name in index:
            _change_item(out[index[name]], it)
        elif name is not None and group:
            out = _change_copies(out, group, it, problems if problems is not None else [])
        else:
            out.append(copy.deepcopy(it))
    return out


def _change_copies(out: list, group: list, change: dict, problems: list) -> list:
    """A change naming a ``count`` entry of an included file (``H`` of ``H01 .. H03``):
    its values change every copy; a ``count`` in it makes that many copies (named as the
    loader names them) in the group's place: the copies that remain keep their own
    changes, new ones are made from the first."""
    name = change["name"]
    copies = [out[i]["name"] for i in group]
    label = f"{copies[0]} .. {copies[-1]}"
    bad = [k for k in ("file", "template", "from_hall") if k in change]
    if bad:
        problems.append((name, f"'{name}' is the count = {len(group)} hall entry of an included "
                               f"file, expanded there to {label}; {bad[0]} cannot change it here "
                               "(change its values, or its count)"))
        return out
    rest = {k: v for k, v in change.items() if k not in ("name", "count", "__origin__")}
    for i in group:
        _change_item(out[i], rest)
    if "count" not in change:
        return out
    count = change["count"]
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_HALL_COPIES:
        problems.append((name, f"count = {count!r} must be a whole number within 1..{MAX_HALL_COPIES}"))
        return out
    first = out[group[0]]
    have = {out[i]["name"]: out[i] for i in group}
    made = []
    for k in range(count):
        want = name if count == 1 else f"{name}{k + 1:02d}"
        c = copy.deepcopy(have.get(want, first))      # a copy kept keeps its own changes
        c["name"] = want
        if count == 1:
            c.pop("__entry__", None)
        made.append(c)
    keep = [x for i, x in enumerate(out) if i not in set(group)]
    at = group[0]
    return keep[:at] + made + keep[at:]


def _change_item(base: dict, change: dict) -> None:
    """Apply a named item of the including file to the included item of that name: its
    values replace the included ones, its tables merge into theirs, its arrays of tables
    merge by name in turn (:func:`_merge_by_name`) and its other arrays replace theirs."""
    for k, v in change.items():
        if k == "__origin__":
            continue
        old = base.get(k)
        if isinstance(old, dict) and isinstance(v, dict):
            _change_item(old, v)
        elif (isinstance(old, list) and isinstance(v, list)
              and any(isinstance(x, dict) for x in old + v)):
            base[k] = _merge_by_name(old, v)
        else:
            base[k] = copy.deepcopy(v)


def _merge(dst: dict, src: dict, where: str, diags: list, file: Path, by_name: bool = False):
    """Merge an included document ``src`` into ``dst`` (src's content comes first).

    ``by_name`` (``dst`` is the including file, ``src`` what it includes): arrays of tables
    merge by name (:func:`_merge_by_name`), so the including file can change an included
    hall, row, rack or cooling unit by naming it, and add to its arrays. Without it
    (between the included files) arrays are joined."""
    for k, v in src.items():
        if k in ("include", "format_version"):
            continue
        if k not in dst:
            dst[k] = copy.deepcopy(v)
        elif isinstance(dst[k], list) and isinstance(v, list):
            if by_name:
                problems: list = []
                dst[k] = _merge_by_name(v, dst[k], problems)
                diags.extend(Diagnostic("error", _display(file), f"{where}{k}[{name}]", msg)
                             for name, msg in problems)
            else:
                dst[k] = copy.deepcopy(v) + dst[k]
        elif isinstance(dst[k], dict) and isinstance(v, dict):
            if k == "rack_types":
                for name, rt in v.items():
                    if name in dst[k]:
                        if _strip(dst[k][name]) != _strip(rt):
                            diags.append(Diagnostic(
                                "error", _display(file), f"rack_types[{name}]",
                                f"rack type '{name}' is defined differently in "
                                f"{_display(dst[k][name].get('__origin__', ''))} and "
                                f"{_display(rt.get('__origin__', ''))}; rename one"))
                    else:
                        dst[k][name] = copy.deepcopy(rt)
            else:
                _merge(dst[k], v, f"{where}{k}.", diags, file, by_name)
        elif _strip(dst[k]) != _strip(v):
            diags.append(Diagnostic("error", _display(file), f"{where}{k}",
                                    f"'{k}' is set both here and in an included file; set it once"))


def _load_doc(path: Path, root: Path, diags: list, stack: tuple = (), via: str = "",
              text: str | None = None, copies: dict | None = None):
    """Read ``path`` (or ``text`` standing for it) and everything it includes, merged;
    None on a fatal problem. Each included file's halls are expanded
    (:func:`_expand_halls`) before this file's changes merge into them by name; this
    file's own hall entries are left for the caller to expand (they may name included
    halls as templates). ``copies`` as for :func:`_expand_halls`."""
    path = path.resolve()
    if path in stack:
        chain = " -> ".join(_display(p) for p in stack + (path,))
        diags.append(Diagnostic("error", _display(stack[-1]), "include", f"include cycle: {chain}"))
        return None
    if len(stack) > _MAX_INCLUDE_DEPTH:
        diags.append(Diagnostic("error", _display(path), "include",
                                f"includes nest deeper than {_MAX_INCLUDE_DEPTH} files"))
        return None
    doc = _read_toml(path, diags, via, text)
    if doc is None:
        return None
    _tag_origins(doc, path)
    inc = doc.pop("include", [])
    if isinstance(inc, str):
        inc = [inc]
    if not isinstance(inc, list) or not all(isinstance(s, str) for s in inc):
        diags.append(Diagnostic("error", _display(path), "include",
                                "include must be a list of file names, e.g. include = [\"racks.toml\"]"))
        return doc
    merged: dict = {}
    subs: list = []
    for i, ref in enumerate(inc):
        try:
            target = _inside(ref, path.parent, root)
        except _PathError as exc:
            diags.append(Diagnostic("error", _display(path), f"include[{i}]", str(exc)))
            continue
        if target.is_dir():
            diags.append(Diagnostic("error", _display(path), f"include[{i}]",
                                    f"'{ref}' is a folder ({target}); include a TOML file, e.g. "
                                    f"'{ref.rstrip('/')}/racks.toml'"))
            continue
        if not target.is_file():
            diags.append(Diagnostic("error", _display(path), f"include[{i}]",
                                    f"included file '{ref}' not found (looked for {target})"))
            continue
        sub = _load_doc(target, root, diags, stack + (path,), f"include[{i}]", copies=copies)
        if sub is not None:
            subs.append((sub, target))
    # the included files' halls are expanded together: a template may name a sibling's hall
    _expand_together(subs, root, diags, stack + (path,), copies)
    for sub, _ in subs:
        _merge(merged, sub, "", diags, path)
    _merge(doc, merged, "", diags, path, by_name=True)
    return doc


_HALL_REUSE_KEYS = ("file", "from_hall", "template", "count")


def _expand_halls(doc: dict, path: Path, root: Path, diags: list, stack: tuple,
                  copies: dict | None = None):
    """Resolve hall entries with ``file``/``from_hall``, ``template`` and ``count`` in one
    file; ``copies`` gets {copy name: (entry name, copy names)} of every ``count > 1``."""
    _expand_together([(doc, path)], root, diags, stack, copies)


def _expand_together(files: list, root: Path, diags: list, stack: tuple, copies: dict | None = None):
    """Expand the hall entries of ``files`` (``(doc, path)`` pairs: the files one file
    includes, siblings) together, so that a ``template`` may name a hall of a sibling: it
    names a hall above it in its own file (halls of the files that one includes come
    first), and otherwise a hall of a sibling file, wherever it stands there (the order of
    the ``include`` list does not matter). A cycle of templates or a name found nowhere is
    one line naming the file and ``halls[NAME].template``."""
    ex = _HallExpander(files, root, diags, stack, copies)
    for f in range(len(files)):
        ex.expand_file(f)
    for f, (doc, _) in enumerate(files):
        if ex.entries[f] is not None:
            doc["halls"] = [hall for k in range(len(ex.entries[f])) for hall in (ex.entry(f, k) or [])]


_FAILED = object()     # a template's source entry had an error (already reported)


class _HallExpander:
    """The hall entries of sibling files, each expanded once (memoised by ``(file,
    entry)``), templates first; ``busy`` is the chain of entries being expanded, where a
    template cycle shows."""

    def __init__(self, files, root, diags, stack, copies):
        self.files, self.root, self.diags, self.stack, self.copies = files, root, diags, stack, copies
        self.entries = [list(doc["halls"]) if isinstance(doc.get("halls"), list) else None
                        for doc, _ in files]
        self.done: dict = {}
        self.busy: list = []

    def expand_file(self, f: int):
        for k in range(len(self.entries[f] or [])):
            self.entry(f, k)

    def entry(self, f: int, k: int):
        """The halls entry ``k`` of file ``f`` makes (one, or its ``count`` copies), or
        None when it has an error (reported)."""
        key = (f, k)
        if key in self.done:
            return self.done[key]
        self.busy.append(key)
        try:
            res = self._expand(f, k)
        finally:
            self.busy.pop()
        self.done[key] = res
        return res

    def _label(self, f: int, k: int) -> str:
        """``file halls[NAME]``, the file relative to the facility's folder."""
        h, origin = self.entries[f][k], self._origin(f, k).resolve()
        root = self.root.resolve()
        where = origin.relative_to(root) if root in origin.parents else _display(origin)
        return f"{where} halls[{h.get('name', k)}]"

    def _origin(self, f: int, k: int) -> Path:
        h = self.entries[f][k]
        return Path(h.get("__origin__", self.files[f][1])) if isinstance(h, dict) else self.files[f][1]

    def names(self, f: int, k: int) -> list:
        """The hall names entry ``k`` of file ``f`` makes, read from its keys (a ``file``
        entry without a name is expanded to know)."""
        h = self.entries[f][k]
        if not isinstance(h, dict):
            return []
        if "name" not in h and "file" in h and (f, k) not in self.busy:
            return [x.get("name") for x in self.entry(f, k) or []]
        count = h.get("count", 1) if any(x in h for x in _HALL_REUSE_KEYS) else 1
        if isinstance(count, int) and not isinstance(count, bool) and 1 < count <= MAX_HALL_COPIES:
            return [f"{h.get('name', 'hall')}{i + 1:02d}" for i in range(count)]
        return [h.get("name")]

    def _pick(self, g: int, m: int, want: str):
        if (g, m) in self.busy:
            return ("cycle", g, m)
        made = self.entry(g, m)
        if made is None:
            return _FAILED
        return next((x for x in made if x.get("name") == want), _FAILED)

    def template(self, f: int, k: int, want):
        """The hall ``want`` for entry ``k`` of file ``f``: above it in its file, else in a
        sibling; ``_FAILED`` when that hall had an error; None (reported) when not found or
        in a cycle."""
        hp = f"halls[{self.entries[f][k].get('name', k)}].template"
        where = _display(self._origin(f, k))
        found = next(((f, m) for m in range(k) if want in self.names(f, m)), None)
        if found is None:
            found = next(((g, m) for g in range(len(self.files)) if g != f
                          for m in range(len(self.entries[g] or [])) if want in self.names(g, m)), None)
        if found is None:
            above = [n for m in range(k) for n in self.names(f, m) if n is not None]
            beside = [n for g in range(len(self.files)) if g != f
                      for m in range(len(self.entries[g] or [])) for n in self.names(g, m) if n is not None]
            below = [n for m in range(k + 1, len(self.entries[f])) for n in self.names(f, m)]
            hint = ("; it comes below this one: move it above" if want in below
                    else did_you_mean(want, above + beside))
            self.diags.append(Diagnostic(
                "error", where, hp,
                f"template hall '{want}' must be defined above this one or in a file included "
                f"beside this one{hint}; halls so far: {above}"
                + (f", in the files included beside it: {beside}" if beside else "")))
            return None
        got = self._pick(*found, want)
        if isinstance(got, tuple):                       # a template cycle
            g, m = got[1], got[2]
            chain = self.busy[self.busy.index((g, m)):] + [(g, m)]
            self.diags.append(Diagnostic(
                "error", where, hp,
                f"templates form a cycle: {' -> '.join(self._label(*x) for x in chain)}; "
                "a template must name a hall that is not made from this one"))
            return None
        return got

    def _expand(self, f: int, k: int):
        h = self.entries[f][k]
        doc, path = self.files[f]
        root, diags, stack = self.root, self.diags, self.stack
        if not isinstance(h, dict) or not any(x in h for x in _HALL_REUSE_KEYS):
            return [h]
        origin = self._origin(f, k)
        label = h.get("name", k)
        hp = f"halls[{label}]"
        base = None
        if "file" in h and "template" in h:
            diags.append(Diagnostic("error", _display(origin), hp, "give file or template, not both"))
            return None
        if "file" in h:
            ref = h["file"]
            if not isinstance(ref, str):
                diags.append(Diagnostic("error", _display(origin), hp + ".file",
                                        "file must be a string: the facility file holding the hall"))
                return None
            try:
                target = _inside(ref, origin.parent, root)
            except _PathError as exc:
                diags.append(Diagnostic("error", _display(origin), hp + ".file", str(exc)))
                return None
            if target.is_dir():
                diags.append(Diagnostic("error", _display(origin), hp + ".file",
                                        f"'{ref}' is a folder ({target}); give the facility file "
                                        "(.toml) that holds the hall"))
                return None
            if not target.is_file():
                diags.append(Diagnostic("error", _display(origin), hp + ".file",
                                        f"hall file '{ref}' not found (looked for {target})"))
                return None
            sub = _load_doc(target, root, diags, stack + (path.resolve(),), hp + ".file")
            if sub is None:
                return None
            _expand_halls(sub, target, root, diags, stack + (path.resolve(),))
            sub_halls = [x for x in sub.get("halls", []) if isinstance(x, dict)]
            want = h.get("from_hall")
            names = [x.get("name") for x in sub_halls]
            if want is None and len(sub_halls) == 1:
                base = sub_halls[0]
            elif want is None:
                diags.append(Diagnostic("error", _display(origin), hp + ".from_hall",
                                        f"'{ref}' holds {len(sub_halls)} halls; say which with "
                                        f"from_hall = one of {names}"))
                return None
            else:
                match = [x for x in sub_halls if x.get("name") == want]
                if not match:
                    diags.append(Diagnostic("error", _display(origin), hp + ".from_hall",
                                            f"no hall '{want}' in '{ref}'{did_you_mean(want, names)}; "
                                            f"halls there: {names}"))
                    return None
                base = match[0]
            for name, rt in (sub.get("rack_types") or {}).items():
                doc.setdefault("rack_types", {})
                if name in doc["rack_types"] and _strip(doc["rack_types"][name]) != _strip(rt):
                    diags.append(Diagnostic("error", _display(origin), f"rack_types[{name}]",
                                            f"rack type '{name}' of hall file '{ref}' differs from "
                                            "the one defined here; rename one"))
                else:
                    doc["rack_types"].setdefault(name, copy.deepcopy(rt))
            base = copy.deepcopy(base)
            base["__origin__"] = str(target)
        elif "template" in h:
            got = self.template(f, k, h["template"])
            if got is None or got is _FAILED:
                return None
            base = copy.deepcopy(got)
        else:
            base = {}
        over = {x: copy.deepcopy(v) for x, v in h.items() if x not in _HALL_REUSE_KEYS}
        over.pop("__origin__", None)
        new = {**base, **over}
        if base:    # keys set on this entry are this file's, not the hall file's
            new["__overrides__"] = {**base.get("__overrides__", {}),
                                    **{x: str(origin) for x in over if not x.startswith("__")}}
        if "from_hall" in h and "file" not in h:
            diags.append(Diagnostic("error", _display(origin), hp + ".from_hall",
                                    "from_hall goes with file"))
        count = h.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            diags.append(Diagnostic("error", _display(origin), hp + ".count",
                                    f"count = {count!r} must be a whole number >= 1"))
            return None
        if count > MAX_HALL_COPIES:
            diags.append(Diagnostic("error", _display(origin), hp + ".count",
                                    f"count = {count}: it must be <= {MAX_HALL_COPIES} copies of "
                                    "one hall (a campus of more halls is not a layout the twin "
                                    "takes; check the number)"))
            return None
        if count == 1:
            return [new]
        names = [f"{new.get('name', 'hall')}{i + 1:02d}" for i in range(count)]
        made = []
        for name in names:
            c = copy.deepcopy(new)
            c["name"] = name
            c["__entry__"] = str(new.get("name", "hall"))     # a change by the entry's name
            made.append(c)
            if self.copies is not None:
                self.copies[name] = (str(new.get("name", "hall")), names)
        return made


def _collect_origins(doc: dict) -> dict:
    origins = {}
    for i, h in enumerate(doc.get("halls", []) if isinstance(doc.get("halls"), list) else []):
        if isinstance(h, dict) and "__origin__" in h:
            origins[("halls", i)] = Path(h["__origin__"])
        if isinstance(h, dict) and isinstance(h.get("__overrides__"), dict):
            for key, f in h["__overrides__"].items():
                origins[("halls", i, key)] = Path(f)
    rts = doc.get("rack_types")
    if isinstance(rts, dict):
        for name, rt in rts.items():
            if isinstance(rt, dict) and "__origin__" in rt:
                origins[("rack_types", name)] = Path(rt["__origin__"])
    return origins
