# SPDX-License-Identifier: GPL-3.0-or-later
"""The XMP editor changes exactly what it is asked to and keeps everything else."""

from __future__ import annotations

import pytest

from photolm.metadata.fields import DC_NS, IPTC_EXT_NS, PHOTOSHOP_NS, Entry
from photolm.metadata.marker import PhotolmMarker, read_marker, remove_marker, write_marker
from photolm.metadata.xmp import XmpDocument, XmpError, XmpShapeError, qname

PACKET = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    photoshop:City="Paris"/>
  <rdf:Description rdf:about="" xmlns:my="http://example.com/my/1.0/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:dc="http://purl.org/dc/elements/1.1/">
   <my:note>keep &amp; me</my:note>
   <dc:subject><rdf:Bag><rdf:li>Holiday</rdf:li><rdf:li xml:lang="fr">Vacances</rdf:li>
   </rdf:Bag></dc:subject>
   <Iptc4xmpExt:LocationShown><rdf:Bag>
    <rdf:li Iptc4xmpExt:Sublocation="Louvre" Iptc4xmpExt:City="Paris"/>
    <rdf:li><rdf:Description><Iptc4xmpExt:Sublocation>Pont Neuf</Iptc4xmpExt:Sublocation>
    </rdf:Description></rdf:li>
   </rdf:Bag></Iptc4xmpExt:LocationShown>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""

SUB = qname(IPTC_EXT_NS, "Sublocation")


def test_reads_all_rdf_spellings() -> None:
    doc = XmpDocument.parse(PACKET.encode())
    assert doc.get_text(PHOTOSHOP_NS, "City") == "Paris"  # attribute form
    assert doc.get_text("http://example.com/my/1.0/", "note") == "keep & me"
    assert doc.get_list(DC_NS, "subject") == ["Holiday", "Vacances"]
    names = [s.get(SUB) for s in doc.get_structs(IPTC_EXT_NS, "LocationShown") or []]
    assert names == ["Louvre", "Pont Neuf"]
    assert doc.get_list(DC_NS, "title") is None


def test_edit_and_undo_gives_back_the_same_document() -> None:
    doc = XmpDocument.parse(PACKET.encode())
    untouched = doc.to_text()
    doc.append_list(DC_NS, "subject", "Eiffel Tower")
    doc.set_text(PHOTOSHOP_NS, "Country", "France")
    doc.append_struct(IPTC_EXT_NS, "LocationShown", {SUB: "Eiffel Tower"})
    doc.append_list(DC_NS, "rights-holders", "x")
    edited = XmpDocument.parse(doc.to_bytes())
    assert edited.get_list(DC_NS, "subject") == ["Holiday", "Vacances", "Eiffel Tower"]
    assert edited.get_text(PHOTOSHOP_NS, "Country") == "France"

    edited.remove_list_item(DC_NS, "subject", "Eiffel Tower")
    edited.remove(PHOTOSHOP_NS, "Country")
    edited.remove_struct(IPTC_EXT_NS, "LocationShown", lambda f: f.get(SUB) == "Eiffel Tower")
    edited.remove_list_item(DC_NS, "rights-holders", "x")
    assert edited.to_text() == untouched
    for kept in ("<my:note>keep &amp; me</my:note>", 'xml:lang="fr"',
                 'xmlns:my="http://example.com/my/1.0/"', '<?xpacket end="w"?>'):
        assert kept in untouched


def test_removing_the_last_item_removes_the_property() -> None:
    doc = XmpDocument.new()
    doc.append_list(DC_NS, "subject", "a")
    assert doc.remove_list_item(DC_NS, "subject", "a")
    assert doc.get_list(DC_NS, "subject") is None and doc.is_empty()
    assert not doc.remove_list_item(DC_NS, "subject", "a")


def test_new_document_round_trips_special_characters() -> None:
    doc = XmpDocument.new()
    doc.append_list(DC_NS, "subject", 'Café <"Les 2 Magots"> & co')
    parsed = XmpDocument.parse(doc.to_bytes())
    assert parsed.get_list(DC_NS, "subject") == ['Café <"Les 2 Magots"> & co']
    assert parsed.to_text().startswith('<?xpacket begin="\ufeff"')


@pytest.mark.parametrize("data", [
    b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed></x:xmpmeta>",
    b"\xff\xfenot utf-8",
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",  # no rdf:RDF
    b"",
])
def test_refuses_what_it_cannot_edit_safely(data: bytes) -> None:
    with pytest.raises(XmpError):
        XmpDocument.parse(data)


def test_misshapen_property_is_reported_not_rewritten() -> None:
    doc = XmpDocument.new()
    doc.set_text(DC_NS, "subject", "a, b")  # a keyword list written as plain text
    with pytest.raises(XmpShapeError):
        doc.get_list(DC_NS, "subject")
    with pytest.raises(XmpShapeError):
        doc.append_list(DC_NS, "subject", "c")


def test_marker_round_trip_and_removal() -> None:
    doc = XmpDocument.parse(PACKET.encode())
    untouched = doc.to_text()
    marker = PhotolmMarker("eiffel_tower", "Eiffel Tower", 0.87312, "abc",
                           added=(Entry("dc:subject", "Eiffel Tower"),),
                           pre_existing=(Entry("photoshop:City", "Paris"),),
                           photo_name="a.jpg", created_sidecar=True)
    write_marker(doc, marker)
    again = read_marker(XmpDocument.parse(doc.to_bytes()))
    assert again == PhotolmMarker("eiffel_tower", "Eiffel Tower", 0.8731, "abc",
                                  added=marker.added, pre_existing=marker.pre_existing,
                                  photo_name="a.jpg", created_sidecar=True)
    remove_marker(doc)
    assert read_marker(doc) is None
    assert doc.to_text() == untouched


def test_marker_entries_of_unknown_fields_are_ignored() -> None:
    assert Entry.decode("dc:subject=A=B") == Entry("dc:subject", "A=B")
    assert Entry.decode("future:Field=x") is None
    assert Entry.decode("no separator") is None
