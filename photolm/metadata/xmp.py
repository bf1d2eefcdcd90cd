# SPDX-License-Identifier: GPL-3.0-or-later
"""Read, edit and write an XMP packet without disturbing anything photolm did not write.

Why a small RDF/XML editor of our own instead of exiv2's key/value interface: pyexiv2's
``modify_xmp`` turns every list into an ``rdf:Seq`` (``dc:subject`` must stay an ``rdf:Bag``)
and cannot add an item to an array of structures (``Iptc4xmpExt:LocationShown``). Editing the
XML tree keeps a person's sidecar as it was (their namespace prefixes, comments, property
order, attribute or element form) except for the exact elements photolm adds or removes.

The same editor serves sidecars (the file is the packet) and embedded XMP (exiv2 or ExifTool
hand us the packet and store the edited one); the writers then re-read the result with an
independent parser (exiv2) to verify it.

Safety: a packet with a DOCTYPE (and so entity declarations) is refused outright; XMP never
has one, and refusing it rules out entity-expansion attacks through a crafted sidecar.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from photolm.metadata.fields import PREFIXES, RDF_NS, X_NS

XML_NS = "http://www.w3.org/XML/1998/namespace"
_R = "{" + RDF_NS + "}"
RDF = _R + "RDF"
DESCRIPTION = _R + "Description"
LI = _R + "li"
ABOUT = _R + "about"
PARSE_TYPE = _R + "parseType"
RESOURCE = _R + "resource"
VALUE = _R + "value"
ARRAY_TAGS = {_R + "Bag": "Bag", _R + "Seq": "Seq", _R + "Alt": "Alt"}

PACKET_HEADER = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
PACKET_TRAILER = '\n<?xpacket end="w"?>\n'

_PI = r"<\?(?:(?!\?>).)*\?>"
_COMMENT = r"<!--(?:(?!-->).)*-->"
_MISC = re.compile(rf"(?:\s+|{_PI}|{_COMMENT})*", re.S)
_INDENT = " "


class XmpError(ValueError):
    """The packet is not XMP photolm can edit safely (the message says why)."""


class XmpShapeError(XmpError):
    """A property exists but not in the shape the XMP specification gives it (e.g. a
    ``dc:subject`` that is plain text instead of a bag); photolm leaves it alone."""


def qname(ns: str, name: str) -> str:
    return "{" + ns + "}" + name


@dataclass
class _Found:
    description: ET.Element
    element: ET.Element | None  # the property element, or None when it is an attribute
    attribute: str | None


class XmpDocument:
    """An editable XMP packet. Build it with :meth:`parse` or :meth:`new`."""

    def __init__(self, root: ET.Element, namespaces: Sequence[tuple[str, str]],
                 prolog: str, epilog: str) -> None:
        rdf = root if root.tag == RDF else next(root.iter(RDF), None)
        if rdf is None:
            raise XmpError("no rdf:RDF element")
        self._root = root
        self._rdf = rdf
        self._namespaces = list(namespaces)  # (prefix, uri) as declared, in document order
        self._prolog = prolog
        self._epilog = epilog

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def new(cls) -> XmpDocument:
        root = ET.Element(qname(X_NS, "xmpmeta"))
        rdf = ET.SubElement(root, RDF)
        ET.SubElement(rdf, DESCRIPTION, {ABOUT: ""})
        root.text, rdf.text, rdf[0].tail, rdf.tail = "\n" + _INDENT, "\n" + _INDENT * 2, \
            "\n" + _INDENT, "\n"
        return cls(root, [], PACKET_HEADER, PACKET_TRAILER)

    @classmethod
    def parse(cls, data: bytes | str) -> XmpDocument:
        """Parse a packet or sidecar. Raises :class:`XmpError` with a one-line reason."""
        if isinstance(data, bytes):
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise XmpError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
        else:
            text = data.removeprefix("\ufeff")
        text = text.rstrip("\x00")
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise XmpError("contains a DOCTYPE or entity declaration, which XMP never has")
        leading = _MISC.match(text)  # always matches (possibly the empty string)
        start = leading.end() if leading else 0
        end = _body_end(text)
        if start >= end or text[start] != "<":
            raise XmpError("no XML element in it")
        body = text[start:end].encode("utf-8")
        namespaces: list[tuple[str, str]] = []
        try:
            pull = ET.XMLPullParser(events=("start-ns",))
            pull.feed(body)
            pull.close()
            for _event, (prefix, uri) in pull.read_events():
                namespaces.append((prefix, uri))
            parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
            parser.feed(body)
            root = parser.close()
        except ET.ParseError as exc:
            raise XmpError(f"not well-formed XML ({exc})") from None
        return cls(root, namespaces, text[:start], text[end:])

    def copy(self) -> XmpDocument:
        return XmpDocument(copy.deepcopy(self._root), self._namespaces, self._prolog,
                           self._epilog)

    # --- queries -----------------------------------------------------------------------------
    def descriptions(self) -> list[ET.Element]:
        return self._rdf.findall(DESCRIPTION)

    def _find(self, ns: str, name: str) -> _Found | None:
        key = qname(ns, name)
        for desc in self.descriptions():
            if key in desc.attrib:
                return _Found(desc, None, key)
            element = desc.find(key)
            if element is not None:
                return _Found(desc, element, None)
        return None

    def has(self, ns: str, name: str) -> bool:
        return self._find(ns, name) is not None

    def get_text(self, ns: str, name: str) -> str | None:
        """A simple property's value; ``None`` when absent."""
        found = self._find(ns, name)
        if found is None:
            return None
        if found.element is None:
            return found.description.attrib[found.attribute or ""]
        return _simple_value(found.element, name)

    def get_list(self, ns: str, name: str) -> list[str] | None:
        """The text items of an array property; ``None`` when absent."""
        container = self._container(ns, name)
        if container is None:
            return None
        return [value for li in container.findall(LI) if (value := _li_text(li)) is not None]

    def get_structs(self, ns: str, name: str) -> list[dict[str, str]] | None:
        """The items of an array of structures as ``{"{ns}field": text}``; ``None`` when
        absent. Fields that are themselves structured (language alternatives...) are left
        out: photolm only compares plain text fields."""
        container = self._container(ns, name)
        if container is None:
            return None
        return [_struct_fields(li) for li in container.findall(LI)]

    def properties(self, ns: str) -> list[str]:
        """Local names of all top-level properties in namespace ``ns``."""
        prefix = "{" + ns + "}"
        names: list[str] = []
        for desc in self.descriptions():
            names += [k[len(prefix):] for k in desc.attrib if k.startswith(prefix)]
            names += [c.tag[len(prefix):] for c in desc
                      if isinstance(c.tag, str) and c.tag.startswith(prefix)]
        return names

    def is_empty(self) -> bool:
        """True when no property is left (only ``rdf:about`` and whitespace)."""
        for desc in self.descriptions():
            if any(k != ABOUT for k in desc.attrib) or any(isinstance(c.tag, str) for c in desc):
                return False
        return not any(isinstance(c.tag, str) and c.tag != DESCRIPTION for c in self._rdf)

    # --- edits -------------------------------------------------------------------------------
    def set_text(self, ns: str, name: str, value: str) -> None:
        """Set a simple property, in place when it exists, else as a new element."""
        found = self._find(ns, name)
        if found is not None and found.element is None:
            found.description.set(found.attribute or "", value)
            return
        if found is not None and found.element is not None:
            if len(found.element):
                raise XmpShapeError(f"{name} is not a simple value")
            found.element.text = value
            return
        element = ET.Element(qname(ns, name))
        element.text = value
        self._append(self._main_description(), element)

    def remove(self, ns: str, name: str) -> bool:
        """Remove a property whatever its form; True when there was one."""
        found = self._find(ns, name)
        if found is None:
            return False
        if found.element is None:
            del found.description.attrib[found.attribute or ""]
        else:
            _remove_child(found.description, found.element)
        return True

    def append_list(self, ns: str, name: str, value: str, array: str = "Bag") -> None:
        container = self._container(ns, name)
        if container is None:
            container = self._new_array(ns, name, array)
        li = ET.Element(LI)
        li.text = value
        self._append(container, li)

    def set_list(self, ns: str, name: str, values: Sequence[str], array: str = "Bag") -> None:
        """Create an array property holding ``values`` (it must be absent)."""
        if self.has(ns, name):
            raise XmpShapeError(f"{name} already exists")
        for value in values:
            self.append_list(ns, name, value, array)

    def remove_list_item(self, ns: str, name: str, value: str, *,
                         keep_empty: bool = False) -> bool:
        """Remove the last plain item equal to ``value``; drop the property if it empties
        (unless ``keep_empty``: the list was there, empty, before photolm added to it)."""
        return self._remove_item(ns, name, lambda li: _li_text(li) == value and not len(li),
                                 keep_empty=keep_empty)

    def append_struct(self, ns: str, name: str, fields: Mapping[str, str],
                      array: str = "Bag") -> None:
        """Append ``<rdf:li rdf:parseType="Resource">`` with one element per field
        (``fields`` keys are ``{ns}name``)."""
        container = self._container(ns, name)
        if container is None:
            container = self._new_array(ns, name, array)
        li = ET.Element(LI, {PARSE_TYPE: "Resource"})
        self._append(container, li)
        for key, value in fields.items():
            element = ET.Element(key)
            element.text = value
            self._append(li, element)

    def remove_struct(self, ns: str, name: str,
                      match: Callable[[dict[str, str]], bool]) -> bool:
        return self._remove_item(ns, name, lambda li: match(_struct_fields(li)))

    # --- output ------------------------------------------------------------------------------
    def to_text(self) -> str:
        return self._prolog + _Serializer(self._namespaces).element(self._root) + self._epilog

    def to_bytes(self) -> bytes:
        return self.to_text().encode("utf-8")

    # --- helpers -----------------------------------------------------------------------------
    def _container(self, ns: str, name: str) -> ET.Element | None:
        found = self._find(ns, name)
        if found is None:
            return None
        if found.element is None:
            raise XmpShapeError(f"{name} is a plain value, not a list")
        container = next((c for c in found.element if c.tag in ARRAY_TAGS), None)
        if container is None:
            raise XmpShapeError(f"{name} is not a list")
        return container

    def _new_array(self, ns: str, name: str, array: str) -> ET.Element:
        prop = ET.Element(qname(ns, name))
        self._append(self._main_description(), prop)
        container = ET.Element(_R + array)
        self._append(prop, container)
        return container

    def _remove_item(self, ns: str, name: str, match: Callable[[ET.Element], bool], *,
                     keep_empty: bool = False) -> bool:
        container = self._container(ns, name)
        if container is None:
            return False
        items = [li for li in container.findall(LI) if match(li)]
        if not items:
            return False
        _remove_child(container, items[-1])
        if not container.findall(LI) and not keep_empty:
            self.remove(ns, name)
        return True

    def _main_description(self) -> ET.Element:
        descriptions = self.descriptions()
        if descriptions:
            return descriptions[0]
        desc = ET.Element(DESCRIPTION, {ABOUT: ""})
        self._append(self._rdf, desc)
        return desc

    def _depth(self, element: ET.Element) -> int:
        parents = {child: parent for parent in self._root.iter() for child in parent}
        depth = 0
        while element in parents:
            element = parents[element]
            depth += 1
        return depth

    def _append(self, parent: ET.Element, child: ET.Element) -> None:
        """Append ``child`` indented like a pretty-printed packet (one space per level, as
        exiv2 writes), so a person opening the sidecar still finds it readable."""
        depth = self._depth(parent)
        inner = "\n" + _INDENT * (depth + 1)
        if len(parent):
            last = parent[-1]
            child.tail = last.tail if _blank(last.tail) else "\n" + _INDENT * depth
            last.tail = inner
        elif parent.text is None or not parent.text.strip():
            parent.text = inner
            child.tail = "\n" + _INDENT * depth
        parent.append(child)


def _blank(text: str | None) -> bool:
    return text is not None and not text.strip() and "\n" in text


def _body_end(text: str) -> int:
    """Where the root element ends: before trailing whitespace, PIs and comments."""
    end = len(text)
    while True:
        stripped = text[:end].rstrip()
        if stripped.endswith("?>"):
            start = stripped.rfind("<?")
        elif stripped.endswith("-->"):
            start = stripped.rfind("<!--")
        else:
            return len(stripped)
        if start < 0:
            return len(stripped)
        end = start


def _remove_child(parent: ET.Element, child: ET.Element) -> None:
    """Remove ``child`` and keep the surrounding indentation consistent."""
    children = list(parent)
    index = children.index(child)
    if index == len(children) - 1:
        if index > 0:
            children[index - 1].tail = child.tail
        elif parent.text is None or not parent.text.strip():
            parent.text = None  # empty again: written self-closing, as it most likely was
    parent.remove(child)


def _simple_value(element: ET.Element, name: str) -> str:
    if RESOURCE in element.attrib:
        return element.attrib[RESOURCE]
    value = element.find(VALUE)
    if value is not None:
        return value.text or ""
    if any(isinstance(c.tag, str) for c in element):
        raise XmpShapeError(f"{name} is not a simple value")
    return element.text or ""


def _li_text(li: ET.Element) -> str | None:
    """A list item's text (``rdf:value`` when qualified); ``None`` for a structure."""
    if RESOURCE in li.attrib:
        return li.attrib[RESOURCE]
    value = li.find(VALUE)
    if value is not None:
        return value.text or ""
    if any(isinstance(c.tag, str) for c in li) or _struct_attributes(li):
        return None
    return li.text or ""


def _struct_attributes(element: ET.Element) -> dict[str, str]:
    return {k: v for k, v in element.attrib.items()
            if not k.startswith(_R) and not k.startswith("{" + XML_NS + "}")}


def _struct_fields(li: ET.Element) -> dict[str, str]:
    """Plain fields of a structure item in any of RDF's three spellings: attributes on the
    ``rdf:li``, child elements with ``rdf:parseType="Resource"``, or a nested
    ``rdf:Description`` with either."""
    fields = _struct_attributes(li)
    nodes = [li]
    nested = li.find(DESCRIPTION)
    if nested is not None:
        fields.update(_struct_attributes(nested))
        nodes.append(nested)
    for node in nodes:
        for child in node:
            if isinstance(child.tag, str) and child.tag != DESCRIPTION and not len(child):
                fields[child.tag] = child.text or ""
    return fields


class _Serializer:
    """ElementTree's own writer renames every prefix (``ns0:``); this one keeps the
    document's prefixes and declares every namespace once, on the root element (equivalent
    XML: a declaration holds for all descendants)."""

    def __init__(self, declared: Sequence[tuple[str, str]]) -> None:
        self.declared = declared
        self.prefix: dict[str, str] = {XML_NS: "xml"}

    def element(self, root: ET.Element) -> str:
        used = list(dict.fromkeys(_namespaces_in(root)))
        taken = {"xml"}
        for prefix, uri in self.declared:
            # An unused declaration of a namespace photolm writes is one photolm left behind
            # (untag removed its last property): drop it. Others' declarations stay.
            if uri in PREFIXES and uri not in used and uri not in (RDF_NS, X_NS):
                continue
            if uri not in self.prefix and prefix and prefix not in taken:
                self.prefix[uri] = prefix
                taken.add(prefix)
        for uri in used:
            if uri in self.prefix:
                continue
            base = PREFIXES.get(uri, "ns")
            prefix, n = base, 1
            while prefix in taken:
                prefix, n = f"{base}{n}", n + 1
            self.prefix[uri] = prefix
            taken.add(prefix)
        declarations = [(p, u) for u, p in self.prefix.items() if u != XML_NS]
        out: list[str] = []
        self._write(root, out, declarations)
        return "".join(out)

    def _name(self, clark: str) -> str:
        if clark.startswith("{"):
            uri, local = clark[1:].split("}", 1)
            return f"{self.prefix[uri]}:{local}"
        return clark

    def _write(self, element: ET.Element, out: list[str],
               declarations: Sequence[tuple[str, str]] = ()) -> None:
        tag = element.tag
        if tag is ET.Comment:
            out.append(f"<!--{element.text or ''}-->")
        elif tag is ET.ProcessingInstruction:
            out.append(f"<?{element.text or ''}?>")
        else:
            name = self._name(str(tag))
            attrs = "".join(f' xmlns:{p}="{_escape_attr(u)}"' for p, u in declarations)
            attrs += "".join(f' {self._name(k)}="{_escape_attr(v)}"'
                             for k, v in element.attrib.items())
            if element.text is None and not len(element):
                out.append(f"<{name}{attrs}/>")
            else:
                out.append(f"<{name}{attrs}>{_escape_text(element.text or '')}")
                for child in element:
                    self._write(child, out)
                out.append(f"</{name}>")
        if element.tail:
            out.append(_escape_text(element.tail))


def _namespaces_in(root: ET.Element) -> Iterator[str]:
    for element in root.iter():
        if isinstance(element.tag, str):
            for name in (element.tag, *element.attrib):
                if name.startswith("{"):
                    yield name[1:].split("}", 1)[0]


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text: str) -> str:
    return (_escape_text(text).replace('"', "&quot;").replace("\n", "&#10;")
            .replace("\r", "&#13;").replace("\t", "&#9;"))
