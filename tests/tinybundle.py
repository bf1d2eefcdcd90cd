# SPDX-License-Identifier: GPL-3.0-or-later
"""A tiny but real model bundle for tests: an ONNX graph written with the onnx helper API.

The graph average-pools the 32x32 input to a 4x4 grid per channel, projects the 48 values with
a fixed random matrix and L2-normalises, so photos of different solid colours land far apart
and photos of one colour land on one prototype. Prototypes are computed by running the graph
in onnxruntime, exactly as photolm will, so scores near 1.0 mean "same colour".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from photolm.bundle import Bundle, Descriptor, Landmark, Preprocess, write_bundle
from photolm.learned import enrolment_record

SIZE = 32
DIM = 16
DESCRIPTOR_DIM = 8
PREPROCESS = Preprocess(size=SIZE, resize=36, crop="center", interpolation="bilinear",
                        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))

# Landmark -> the solid colour its test photos have.
COLOURS: dict[str, tuple[int, int, int]] = {
    "eiffel-tower": (220, 40, 40),
    "colosseum": (40, 200, 60),
    "taj-mahal": (40, 60, 220),
    "cologne-cathedral": (230, 220, 40),
}
LANDMARKS: tuple[Landmark, ...] = (
    Landmark("eiffel-tower", "Eiffel Tower", ("Tour Eiffel", "La Tour Eiffel"), "Paris",
             "France", 48.8584, 2.2945),
    Landmark("colosseum", "Colosseum", ("Colosseo", "Coliseum", "Flavian Amphitheatre"),
             "Rome", "Italy", 41.8902, 12.4922),
    Landmark("taj-mahal", "Taj Mahal", ("Tāj Mahal",), "Agra", "India", 27.1751, 78.0421),
    Landmark("cologne-cathedral", "Cologne Cathedral", ("Kölner Dom",), "Cologne", "Germany",
             50.9413, 6.9583),
)


def build_onnx(path: Path, dim: int = DIM, seed: int = 0, opset: int = 17, *,
               descriptor_dim: int | None = None) -> Path:
    """Write the tiny embedding graph: images (N,3,32,32) -> embeddings (N, dim), unit rows
    [and a second output, ``descriptor`` (N, descriptor_dim), another unit projection]."""
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal((3 * 4 * 4, dim)).astype(np.float32)
    extra_nodes, extra_out, extra_init = [], [], []
    if descriptor_dim:
        extra_nodes = [
            helper.make_node("MatMul", ["flat", "dproj"], ["draw"]),
            helper.make_node("ReduceL2", ["draw"], ["dnorm"], axes=[1], keepdims=1),
            helper.make_node("Max", ["dnorm", "eps"], ["dsafe"]),
            helper.make_node("Div", ["draw", "dsafe"], ["descriptor"]),
        ]
        extra_out = [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT,
                                                   ["batch", descriptor_dim])]
        dproj = rng.standard_normal((3 * 4 * 4, descriptor_dim)).astype(np.float32)
        extra_init = [numpy_helper.from_array(dproj, "dproj")]
    nodes = [
        helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[8, 8],
                         strides=[8, 8]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "proj"], ["raw"]),
        helper.make_node("ReduceL2", ["raw"], ["norm"], axes=[1], keepdims=1),
        helper.make_node("Max", ["norm", "eps"], ["safe_norm"]),
        helper.make_node("Div", ["raw", "safe_norm"], ["embeddings"]),
        *extra_nodes,
    ]
    graph = helper.make_graph(
        nodes,
        "photolm-tiny",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", dim]),
         *extra_out],
        initializer=[
            numpy_helper.from_array(proj, "proj"),
            numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "eps"),
            *extra_init,
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def solid_input(colour: tuple[int, int, int]) -> np.ndarray:
    """The model input photolm's preprocessing produces for a solid-colour photo."""
    rgb = np.asarray(colour, dtype=np.float32) / 255.0
    norm = (rgb - np.asarray(PREPROCESS.mean)) / np.asarray(PREPROCESS.std)
    return np.broadcast_to(norm[:, None, None], (3, SIZE, SIZE)).astype(np.float32)


def make_tiny_bundle(
    out_dir: Path,
    *,
    landmarks: Sequence[Landmark] = LANDMARKS,
    threshold: float = 0.9,
    seed: int = 0,
    name: str = "tiny-test-bundle",
    descriptor_threshold: float | None = None,
    measured_for_learning: bool = True,
) -> Bundle:
    """Build and write the tiny bundle; prototypes come from onnxruntime itself. With
    ``descriptor_threshold`` the graph also has a descriptor output, with prototypes, and
    (``measured_for_learning``) that threshold as the manifest's learned-landmark table for
    the descriptor space, measured as scripts/eval_enrolment.py measures one (the rule
    photolm.learned asks for); without it learned landmarks use the embedding."""
    import onnxruntime as ort

    out_dir = Path(out_dir)
    work = out_dir.parent / f".{out_dir.name}-model.onnx"
    with_descriptor = descriptor_threshold is not None
    build_onnx(work, seed=seed, descriptor_dim=DESCRIPTOR_DIM if with_descriptor else None)
    session = ort.InferenceSession(str(work), providers=["CPUExecutionProvider"])
    batch = np.stack([solid_input(COLOURS[lm.id]) for lm in landmarks])
    vectors = session.run(["embeddings"], {"images": batch})[0]
    extra: dict[str, object] = {}
    if with_descriptor:
        extra = {
            "descriptor": Descriptor("descriptor", DESCRIPTOR_DIM, float(descriptor_threshold),
                                     "a second random projection (tests)"),
            "descriptor_prototypes": session.run(["descriptor"], {"images": batch})[0],
            "descriptor_prototype_landmark": np.arange(len(landmarks)),
        }
        if measured_for_learning:
            extra["metrics"] = {"enrolment": enrolment_record(
                {"descriptor": {1: float(descriptor_threshold)}}, 0.01, "tests/tinybundle.py")}
    bundle = write_bundle(
        out_dir,
        model_file=work,
        landmarks=landmarks,
        prototypes=vectors,
        prototype_landmark=np.arange(len(landmarks)),
        preprocess=PREPROCESS,
        threshold=threshold,
        name=name,
        provenance={"source": "tests/tinybundle.py", "seed": seed},
        overwrite=True,
        **extra,  # type: ignore[arg-type]
    )
    work.unlink()
    return bundle


def write_photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (64, 48),
                fmt: str | None = None, **save_args: object) -> Path:
    """A solid-colour photo: a stand-in for a photo of the landmark with that colour."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt, **save_args)
    return path
