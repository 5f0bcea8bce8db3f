"""minialexnet.layers.counter_hash: the formula in plain Python integers, and what dropout relies on."""

import numpy as np

from minialexnet.backend import asnumpy, get_array_module, to_device
from minialexnet.layers.counter_hash import uniform_bits

MASK = 2**32 - 1


def mix(v):
    """MurmurHash3's 32-bit finaliser on a Python int (Appleby's constants)."""
    v ^= v >> 16
    v = (v * 0x85EBCA6B) & MASK
    v ^= v >> 13
    v = (v * 0xC2B2AE35) & MASK
    return v ^ (v >> 16)


def bits_by_formula(key, n, j):
    """bits[n, j] = mix(mix((mix(n + k0) XOR j * 0x9E3779B9) + k1)), all modulo 2**32."""
    row = mix((n + key[0]) & MASK)
    return mix(mix(((row ^ ((j * 0x9E3779B9) & MASK)) + key[1]) & MASK))


def test_each_value_is_the_documented_formula(device):
    xp = get_array_module(to_device(np.zeros(1), device))
    key, offset = (4_000_000_123, 17), 3
    bits = asnumpy(uniform_bits(xp, 5, 7, key, offset))
    assert bits.dtype == np.uint32 and bits.shape == (5, 7)
    expected = [[bits_by_formula(key, offset + n, j) for j in range(7)] for n in range(5)]
    assert np.array_equal(bits, np.array(expected, dtype=np.uint32))


def test_a_share_of_the_batch_draws_its_rows_of_the_whole_batch():
    whole = uniform_bits(np, 10, 6, (1, 2))
    assert np.array_equal(uniform_bits(np, 4, 6, (1, 2), row_offset=6), whole[6:])


def test_values_are_spread_evenly_and_keys_differ():
    bits = uniform_bits(np, 200, 500, (123, 456)).astype(np.float64) / 2**32
    # 100,000 uniform values: the mean's standard deviation is 0.29 / 316, about 9e-4
    assert abs(bits.mean() - 0.5) < 5e-3
    counts = np.histogram(bits, bins=10, range=(0, 1))[0]
    assert counts.min() > 9_500 and counts.max() < 10_500
    other = uniform_bits(np, 200, 500, (124, 456)).astype(np.float64) / 2**32
    assert abs(np.corrcoef(bits.ravel(), other.ravel())[0, 1]) < 0.02
