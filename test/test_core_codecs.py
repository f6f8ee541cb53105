"""Round trips and error cases of the message codecs (robin_core), on numpy data."""

from __future__ import annotations

import numpy as np
import pytest
from sensor_msgs.msg import Image

from robin_core.image_codec import (
    ImageFormatError,
    Stamp,
    depth_to_meters,
    image_to_numpy,
    meters_to_depth16,
    numpy_to_image,
)
from robin_core.instance_table import INSTANCE_DTYPE, cloud_to_instances, instances_to_cloud
from robin_core.table_codec import TableFormatError, cloud_to_table, table_to_cloud

RNG = np.random.default_rng(7)


@pytest.mark.parametrize(
    ('encoding', 'shape', 'dtype'),
    [('rgb8', (48, 64, 3), np.uint8), ('mono16', (48, 64), np.uint16), ('16UC1', (5, 7), np.uint16),
     ('32FC1', (6, 9), np.float32), ('mono8', (3, 3), np.uint8)],
)
def test_image_round_trip(encoding: str, shape: tuple[int, ...], dtype: type) -> None:
    arr = (RNG.random(shape) * 200).astype(dtype)
    back = image_to_numpy(numpy_to_image(arr, encoding))
    assert back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)


def test_padded_rows_and_big_endian_are_read_correctly() -> None:
    arr = np.arange(12, dtype=np.uint16).reshape(3, 4)
    msg = Image(height=3, width=4, encoding='16UC1', is_bigendian=1, step=10)
    rows = [np.concatenate([r.astype('>u2').view(np.uint8), np.zeros(2, np.uint8)]) for r in arr]
    msg.data = np.concatenate(rows).tobytes()
    np.testing.assert_array_equal(image_to_numpy(msg), arr)


@pytest.mark.parametrize(
    ('kwargs', 'match'),
    [({'encoding': 'yuv422'}, 'unsupported'), ({'step': 3}, 'step'), ({'height': 10}, 'buffer'),
     ({'width': 0}, 'empty')],
)
def test_malformed_images_raise_clear_errors(kwargs: dict, match: str) -> None:
    msg = numpy_to_image(np.zeros((4, 4), np.uint16), '16UC1')
    for k, v in kwargs.items():
        setattr(msg, k, v)
    with pytest.raises(ImageFormatError, match=match):
        image_to_numpy(msg)


def test_expected_encoding_is_enforced() -> None:
    with pytest.raises(ImageFormatError, match='not accepted'):
        image_to_numpy(numpy_to_image(np.zeros((2, 2, 3), np.uint8), 'rgb8'), expect=('16UC1',))


def test_depth_rep118_invalid_values_become_nan() -> None:
    mm = np.array([[0, 1000], [1500, 65535]], np.uint16)
    m = depth_to_meters(numpy_to_image(mm, '16UC1'))
    assert np.isnan(m[0, 0])
    np.testing.assert_allclose(m[~np.isnan(m)], [1.0, 1.5, 65.535], rtol=1e-6)
    f = np.array([[np.nan, 0.0], [np.inf, 0.75]], np.float32)
    m2 = depth_to_meters(numpy_to_image(f, '32FC1'))
    assert np.isnan(m2[:, 0]).all() and np.isnan(m2[1, 0]) and m2[1, 1] == pytest.approx(0.75)
    np.testing.assert_array_equal(meters_to_depth16(np.array([np.nan, -1.0, 0.0012, 70.0])), [0, 0, 1, 65535])


def test_stamp_round_trip() -> None:
    s = Stamp(12_345_678_901)
    assert Stamp.from_msg(s.to_msg()) == s
    assert s.seconds == pytest.approx(12.345678901)


def test_table_round_trip_with_array_field() -> None:
    dt = np.dtype([('id', np.uint32), ('score', np.float32), ('pose', np.float64, (7,)), ('mask', np.uint8)])
    t = np.zeros(5, dt)
    t['id'] = np.arange(5)
    t['score'] = RNG.random(5)
    t['pose'] = RNG.random((5, 7))
    back = cloud_to_table(table_to_cloud(t))
    for name in dt.names:
        np.testing.assert_array_equal(back[name], t[name])


def test_table_decoding_checks_fields_and_ignores_extra_columns() -> None:
    t = np.zeros(3, INSTANCE_DTYPE)
    t['id'] = [1, 2, 3]
    t['score'] = [0.1, 0.5, 0.9]
    assert (cloud_to_instances(instances_to_cloud(t))['id'] == [1, 2, 3]).all()
    narrow = np.dtype([('id', np.uint32), ('score', np.float32)])
    assert cloud_to_table(instances_to_cloud(t), narrow)['score'][2] == pytest.approx(0.9)
    with pytest.raises(TableFormatError, match='missing fields: nope'):
        cloud_to_table(instances_to_cloud(t), np.dtype([('nope', np.float32)]))
    with pytest.raises(TableFormatError, match="'score' is"):
        cloud_to_table(instances_to_cloud(t), np.dtype([('score', np.float64)]))
    assert cloud_to_instances(instances_to_cloud(np.zeros(0, INSTANCE_DTYPE))).shape == (0,)
