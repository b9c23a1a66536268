"""Reading new inputs for ``semisup predict``: npz, csv (label column ignored), image folders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from semisup.data.dataset import DataError
from semisup.data.inputs import read_inputs


def test_npz_and_csv(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.savez(tmp_path / "a.npz", X=X)
    got, names = read_inputs(tmp_path / "a.npz", (3,), "vector")
    assert np.array_equal(got, X) and names == ["0", "1", "2", "3"]
    (tmp_path / "a.csv").write_text("f1,label,f2\n1,a,2\n3,,4\n")
    got, _ = read_inputs(tmp_path / "a.csv", (2,), "vector")
    assert got.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    (tmp_path / "b.csv").write_text("f1,f2\n1,x\n")
    with pytest.raises(DataError, match="must be numeric"):
        read_inputs(tmp_path / "b.csv", (2,), "vector")


def test_image_folder_is_converted_and_resized(tmp_path):
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    Image.fromarray(np.full((16, 16, 3), 255, np.uint8)).save(tmp_path / "imgs" / "white.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "imgs" / "sub" / "black.png")
    X, names = read_inputs(tmp_path / "imgs", (1, 8, 8), "image")
    assert X.shape == (2, 1, 8, 8) and names == ["sub/black.png", "white.png"]
    assert X[0].max() == 0.0 and X[1].min() == 1.0
    (tmp_path / "imgs" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="broken.png"):
        read_inputs(tmp_path / "imgs", (1, 8, 8), "image")


def test_missing_input_is_named(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_inputs(tmp_path / "nope.npz", (2,), "vector")
