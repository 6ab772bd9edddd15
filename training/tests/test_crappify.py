import unittest

import numpy as np

from helpers import synthetic_image  # noqa: F401  (sets sys.path)
from tintype_train import crappify as C


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255 ** 2 / mse)


class CrappifyTest(unittest.TestCase):
    def setUp(self):
        self.img = np.asarray(synthetic_image(np.random.default_rng(3), 96, 64))

    def test_same_seed_same_damage(self):
        for kind in C.CRAPPIFIERS:
            f = C.make_crappifier(kind)
            a = f(self.img, np.random.default_rng([1, 2]))
            b = f(self.img, np.random.default_rng([1, 2]))
            np.testing.assert_array_equal(a, b, err_msg=kind)

    def test_decrappify_damages_and_keeps_shape(self):
        f = C.make_crappifier("decrappify")
        worse = [psnr(self.img, f(self.img, np.random.default_rng(i))) for i in range(8)]
        out = f(self.img, np.random.default_rng(0))
        self.assertEqual(out.shape, self.img.shape)
        self.assertEqual(out.dtype, np.uint8)
        self.assertLess(np.median(worse), 45)

    def test_lower_jpeg_quality_is_worse(self):
        self.assertLess(psnr(self.img, C.jpeg(self.img, 10)), psnr(self.img, C.jpeg(self.img, 70)))

    def test_gaussian_noise_has_requested_sigma(self):
        x = np.full((256, 256, 3), 0.5, np.float32)
        y = C.gaussian_noise(x, 0.1, np.random.default_rng(0))
        self.assertAlmostEqual(float((y - x).std()), 0.1, delta=0.005)
        grey = C.gaussian_noise(x, 0.1, np.random.default_rng(0), colour=False)
        np.testing.assert_array_equal(grey[..., 0], grey[..., 2])

    def test_poisson_noise_grows_with_signal(self):
        rng = np.random.default_rng(0)
        dark = C.poisson_noise(np.full((128, 128, 1), 0.1, np.float32), 50, rng)
        bright = C.poisson_noise(np.full((128, 128, 1), 0.9, np.float32), 50, rng)
        # variance = mean / peak
        self.assertAlmostEqual(float(dark.var()), 0.1 / 50, delta=0.0006)
        self.assertAlmostEqual(float(bright.var()), 0.9 / 50, delta=0.002)

    def test_each_decrappify_option_can_be_forced(self):
        only = dict(p_single=0, p_rescale=0, p_blur=0, p_grain=0, p_gauss=0, p_poisson=0, p_dust=0, p_text=0, p_jpeg=0)
        identity = C.make_crappifier("decrappify", only)
        np.testing.assert_array_equal(identity(self.img, np.random.default_rng(0)), self.img)
        for key in ("p_rescale", "p_blur", "p_grain", "p_gauss", "p_poisson", "p_dust", "p_text", "p_jpeg"):
            f = C.make_crappifier("decrappify", {**only, key: 1.0})
            out = f(self.img, np.random.default_rng(5))
            self.assertFalse(np.array_equal(out, self.img), key)

    def test_colorize_gives_grey_with_jitter(self):
        f = C.make_crappifier("colorize", {"p_jitter": 1.0, "p_noise": 0, "p_grain": 0, "p_jpeg": 0})
        a = f(self.img, np.random.default_rng(0))
        b = f(self.img, np.random.default_rng(1))
        self.assertEqual(a.shape, self.img.shape[:2] + (1,))
        self.assertGreater(np.abs(a.astype(int) - b.astype(int)).mean(), 1.0)

    def test_microscopy_downsamples(self):
        f = C.make_crappifier("microscopy", {"scale": 2})
        out = f(self.img, np.random.default_rng(0))
        self.assertEqual(out.shape, (32, 48, 1))

    def test_unknown_option_is_named(self):
        with self.assertRaisesRegex(ValueError, "jpg_quality"):
            C.make_crappifier("decrappify", {"jpg_quality": [10, 20]})
        with self.assertRaisesRegex(ValueError, "unknown crappifier"):
            C.make_crappifier("sharpen")


if __name__ == "__main__":
    unittest.main()
