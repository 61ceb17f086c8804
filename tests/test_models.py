"""Model factory, ONNX export agreement, detector decoding, reading order."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kuzushiji.train.onnx_export import check_onnx_matches
from kuzushiji.inference.detector import decode
from kuzushiji.models import create_model, list_models
from kuzushiji.reading_order import group_columns


def test_registry():
    names = list_models()
    for n in ["centernet_s", "resnet_s", "resnet18", "baseline_cnn", "fcn"] + [f"efficientnet_b{i}" for i in range(8)]:
        assert n in names
    with pytest.raises(KeyError):
        create_model("nope")


@pytest.mark.parametrize("name,size", [("resnet_s", 48), ("baseline_cnn", 28), ("fcn", 32), ("efficientnet_b0", 64)])
def test_classifiers_forward(name, size):
    m = create_model(name, num_classes=7).eval()
    assert m(torch.zeros(2, 1, size, size)).shape == (2, 7)


def test_l2_softmax_head():
    m = create_model("resnet_s", num_classes=5, l2_softmax=16.0).eval()
    assert m(torch.zeros(1, 1, 48, 48)).shape == (1, 5)


def test_efficientnet_scaling():
    from kuzushiji.models.recognition.efficientnet import default_input_size

    p0 = sum(p.numel() for p in create_model("efficientnet_b0", num_classes=1000).parameters())
    p2 = sum(p.numel() for p in create_model("efficientnet_b2", num_classes=1000).parameters())
    assert 4.5e6 < p0 < 6e6 and p2 > p0  # b0 is 5.3M parameters in the paper
    assert default_input_size("efficientnet_b7") == 600


def test_detector_onnx_matches_torch(tmp_path):
    m = create_model("centernet_s").eval()
    x = np.random.default_rng(0).normal(size=(1, 1, 128, 96)).astype(np.float32)
    torch.onnx.export(m, torch.from_numpy(x), str(tmp_path / "d.onnx"), input_names=["image"],
                      output_names=["heatmap", "size", "offset"], dynamic_axes={"image": {2: "h", 3: "w"}},
                      opset_version=17, dynamo=False)
    assert check_onnx_matches(m, tmp_path / "d.onnx", x) < 1e-3


def test_decode_finds_peaks():
    heat = np.full((1, 32, 32), -10.0, np.float32)
    heat[0, 10, 20] = 3.0
    heat[0, 11, 20] = 2.0  # neighbour of the peak: suppressed
    size = np.zeros((2, 32, 32), np.float32)
    size[:, 10, 20] = (2.0, 3.0)  # 32 x 48 px
    off = np.zeros((2, 32, 32), np.float32)
    off[:, 10, 20] = (0.5, 0.25)
    d = decode(heat, size, off, scale=0.5, threshold=0.5)
    assert d.shape == (1, 5)
    cx, cy = (20.5 * 4) / 0.5, (10.25 * 4) / 0.5
    np.testing.assert_allclose(d[0, :4], [cx - 32, cy - 48, 64, 96], rtol=1e-5)


def test_reading_order_right_to_left():
    # two columns; the right one (x=200) is read first, each top to bottom
    boxes = np.array([[100, 50, 30, 30], [200, 80, 30, 30], [100, 10, 30, 30], [200, 10, 30, 30]], np.float32)
    assert group_columns(boxes) == [[3, 1], [2, 0]]
    assert group_columns(np.zeros((0, 4), np.float32)) == []


def test_fuse_boxes_weights_and_discounts():
    from kuzushiji.inference.detector import fuse_boxes

    a = np.array([[10, 10, 20, 20, 0.8], [100, 100, 20, 20, 0.6]], np.float32)
    b = np.array([[12, 10, 20, 20, 0.4]], np.float32)
    f = fuse_boxes([a, b])
    assert len(f) == 2
    top = f[0]  # the two overlapping boxes fused: score-weighted x, mean score over the runs
    assert abs(top[0] - (10 * 0.8 + 12 * 0.4) / 1.2) < 1e-4 and abs(top[4] - 0.6) < 1e-6
    assert abs(f[1][4] - 0.3) < 1e-6  # seen in one run of two: discounted
    assert fuse_boxes([np.zeros((0, 5), np.float32)]).shape == (0, 5)
