import pytest

from keras_textnet.data.annotation import AnnotationError
from keras_textnet.data.icdar import quad_angle_degrees, read_icdar2013, read_icdar2015


@pytest.fixture
def icdar_dirs(tmp_path, write_png):
    write_png("images/img_1.png", size=(300, 200))
    write_png("images/img_2.png", size=(300, 200))
    gt = tmp_path / "gt"
    gt.mkdir()
    return tmp_path / "images", gt


def test_icdar2013_both_separators_and_escapes(icdar_dirs):
    images, gt = icdar_dirs
    (gt / "gt_img_1.txt").write_text(
        '38, 43, 92, 70, "Tiredness"\n'
        '10, 80, 40, 95, "say \\"hi\\", ok"\n', encoding="utf-8")
    (gt / "gt_img_2.txt").write_text('158 128 411 181 "Footpath"\n\n', encoding="utf-8")
    ann = read_icdar2013(gt, images)
    assert [r.file for r in ann.images] == ["img_1.png", "img_2.png"]
    w = ann.images[0].words
    assert w[0].box == (38, 43, 93, 71) and w[0].text == "Tiredness"
    assert w[1].text == 'say "hi", ok'
    # right=411 lies outside the 200-px-wide image: clipped
    assert ann.images[1].words[0].box == (158, 128, 200, 182)
    assert ann.images[1].width == 200 and ann.root == images


def test_icdar2013_bad_line_is_named(icdar_dirs):
    images, gt = icdar_dirs
    (gt / "gt_img_1.txt").write_text('38, 43, 92, "no bottom"\n', encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"gt_img_1.txt: line 1: expected"):
        read_icdar2013(gt, images)


def test_icdar2015_quads_ignore_bom_and_commas(icdar_dirs):
    images, gt = icdar_dirs
    (gt / "gt_img_1.txt").write_text(
        "\ufeff377,117,463,117,465,130,378,130,Genaxis Theatre\n"
        "493,115,519,115,519,131,493,131,[06]\n"
        "10,10,50,10,50,30,10,30,###\n"
        "10,40,60,40,60,60,10,60,one,two\n", encoding="utf-8")
    (gt / "gt_img_2.txt").write_text("20,40,60,20,70,40,30,60,tilted\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="2 word\\(s\\) lie entirely outside"):
        ann = read_icdar2015(gt, images)
    words = ann.images[0].words
    assert [w.text for w in words] == ["###", "one,two"]
    assert words[0].ignore and not words[1].ignore
    assert words[1].box == (10, 40, 61, 61) and words[1].angle == 0.0
    tilted = ann.images[1].words[0]
    assert tilted.quad == [[20, 40], [60, 20], [70, 40], [30, 60]]
    assert tilted.box == (20, 20, 71, 61)
    assert tilted.angle == pytest.approx(26.565, abs=1e-3)


def test_icdar2015_missing_image_and_bad_numbers(icdar_dirs):
    images, gt = icdar_dirs
    (gt / "gt_img_9.txt").write_text("1,2,3,4,5,6,7,8,x\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match="no image named img_9"):
        read_icdar2015(gt, images)
    (gt / "gt_img_9.txt").unlink()
    (gt / "gt_img_1.txt").write_text("1,2,a,4,5,6,7,8,x\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match="coordinates must be numbers"):
        read_icdar2015(gt, images)


def test_icdar2015_bad_utf8(icdar_dirs):
    images, gt = icdar_dirs
    (gt / "gt_img_1.txt").write_bytes(b"1,2,3,4,5,6,7,8,caf\xe9\n")
    with pytest.raises(AnnotationError, match="not valid UTF-8"):
        read_icdar2015(gt, images)


def test_quad_angle_is_counter_clockwise():
    assert quad_angle_degrees([[0, 10], [10, 0], [0, 0], [0, 0]]) == pytest.approx(45)
    assert quad_angle_degrees([[0, 0], [10, 10], [0, 0], [0, 0]]) == pytest.approx(-45)
