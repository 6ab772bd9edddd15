import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

from helpers import quiet  # noqa: F401
from tintype_train.color import ChromaBins, colourfulness, decode_bias, lab_to_rgb, rebalance_weights, rgb_to_lab
from tintype_train.losses import (ColorLoss, FeatureLoss, critic_loss, generator_adv_loss, load_vgg16_features,
                                  stability_loss, vgg16_features)


class ColorTest(unittest.TestCase):
    def test_lab_reference_values(self):
        rgb = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).t().reshape(1, 3, 3, 1)
        lab = rgb_to_lab(rgb)[0, :, :, 0].t()
        np.testing.assert_allclose(lab[0].numpy(), [100, 0, 0], atol=0.05)
        np.testing.assert_allclose(lab[1].numpy(), [53.24, 80.09, 67.20], atol=0.1)
        np.testing.assert_allclose(lab[2].numpy(), [32.30, 79.19, -107.86], atol=0.1)

    def test_lab_round_trip(self):
        rgb = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-4, rtol=0)

    def test_soft_targets_reconstruct_chroma(self):
        bins = ChromaBins(16)
        ab = (torch.rand(1, 2, 4, 4, generator=torch.Generator().manual_seed(1)) - 0.5) * 200
        idx, w = bins.soft_targets(ab)
        torch.testing.assert_close(w.sum(1), torch.ones(1, 4, 4))
        rec = torch.einsum("bkhw,bkhwc->bchw", w, bins.centres[idx])
        torch.testing.assert_close(rec, ab, atol=1e-3, rtol=0)

    def test_low_temperature_approaches_the_mode(self):
        bins = ChromaBins(8)
        logits = torch.zeros(1, bins.q, 1, 1)
        logits[0, 5] = 2.0
        self.assertLess(bins.decode(logits, 1.0).abs().sum(), bins.centres[5].abs().sum())
        torch.testing.assert_close(bins.decode(logits, 0.01)[0, :, 0, 0], bins.centres[5], atol=1e-3, rtol=0)

    def test_rebalance_weights(self):
        prior = torch.tensor([0.7, 0.2, 0.05, 0.05])
        w = rebalance_weights(prior, mix=0.5)
        self.assertAlmostEqual(float((w * prior).sum()), 1.0, places=5)
        self.assertGreater(float(w[3]), float(w[0]))
        torch.testing.assert_close(rebalance_weights(prior, mix=1.0), torch.ones(4))
        torch.testing.assert_close(rebalance_weights(prior, mix=0.3, power=0.0), torch.ones(4))

    def test_rebalanced_decoding_moves_towards_rare_colours(self):
        bins = ChromaBins(4)
        prior = torch.ones(bins.q)
        prior[5] = 1000.0   # a common (dull) colour
        logits = torch.full((1, bins.q, 1, 1), -8.0)
        logits[0, 5] = 1.0
        logits[0, 0] = 0.8  # a rare colour the model finds a little less likely
        plain = bins.decode(logits, 0.5)
        # power 0 is the plain annealed mean (the bias is a constant, which softmax ignores)
        torch.testing.assert_close(bins.decode(logits, 0.5, decode_bias(prior, 0.0)), plain)
        d = lambda power: bins.decode(logits, 0.5, decode_bias(prior, power, mix=0.5))[0, :, 0, 0]
        to_rare = lambda ab: float((ab - bins.centres[0]).norm())
        self.assertLess(to_rare(d(0.5)), to_rare(plain[0, :, 0, 0]))
        self.assertLess(to_rare(d(1.0)), to_rare(d(0.5)))
        # the weights are bounded by the uniform mix: an unseen bin does not take over
        self.assertTrue(torch.isfinite(decode_bias(torch.tensor([1.0, 0.0, 0.0, 0.0]), 1.0)).all())

    def test_colourfulness(self):
        self.assertEqual(colourfulness(np.full((8, 8, 3), 128)), 0.0)
        red = np.zeros((8, 8, 3))
        red[..., 0] = 255
        self.assertAlmostEqual(colourfulness(red), 0.3 * np.sqrt(255 ** 2 + 127.5 ** 2), places=6)


class LossTest(unittest.TestCase):
    def test_stability_loss_known_values(self):
        y1, y2, t = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
        # L1(Y1,T) + L1(Y2,T) + L1(Y1,Y2) = 0.5 + 0.5 + 1
        self.assertAlmostEqual(float(stability_loss(y1, y2, t)), 2.0, places=6)
        self.assertAlmostEqual(float(stability_loss(t, t, t)), 0.0, places=6)
        y3 = torch.full((1, 3, 2, 2), 0.75)
        # view applies to the consistency term only: 0.5 + 0.25 + |2*0 - 2*0.75|
        self.assertAlmostEqual(float(stability_loss(y1, y3, t, view=lambda y: 2 * y)), 2.25, places=6)

    def test_color_loss_prefers_the_right_colour(self):
        bins = ChromaBins(8)
        ab = torch.tensor([40.0, -60.0]).view(1, 2, 1, 1).expand(1, 2, 3, 3).contiguous()
        right = torch.zeros(1, bins.q, 3, 3)
        right[:, bins.nearest(ab)[0, 0, 0]] = 8.0
        wrong = torch.zeros(1, bins.q, 3, 3)
        wrong[:, 0] = 8.0
        loss = ColorLoss(bins, l1_weight=1.0)
        self.assertLess(float(loss(right, ab)), float(loss(wrong, ab)))

    def test_color_loss_rebalancing_weights_rare_colours(self):
        bins = ChromaBins(4)
        prior = torch.ones(bins.q)
        prior[0] = 1000.0
        common_ab = bins.centres[0].view(1, 2, 1, 1)
        rare_ab = bins.centres[5].view(1, 2, 1, 1)
        logits = torch.zeros(1, bins.q, 1, 1)
        plain = ColorLoss(bins, prior, mix=1.0)
        rebal = ColorLoss(bins, prior, mix=0.0)
        self.assertAlmostEqual(float(plain(logits, common_ab)), float(plain(logits, rare_ab)), places=5)
        self.assertGreater(float(rebal(logits, rare_ab)), 10 * float(rebal(logits, common_ab)))

    def test_feature_loss_with_random_vgg(self):
        torch.manual_seed(0)
        fl = FeatureLoss(load_vgg16_features(None, allow_random=True))
        a = torch.rand(1, 3, 32, 32)
        self.assertEqual(float(fl(a, a)), 0.0)
        b = a.clone().requires_grad_(True)
        loss = fl(b, (a + 0.2 * torch.rand_like(a)).clamp(0, 1))
        loss.backward()
        self.assertGreater(float(loss), 0.0)
        self.assertGreater(float(b.grad.abs().sum()), 0.0)

    def test_vgg_weights_load_from_a_user_file(self):
        torch.manual_seed(1)
        net = vgg16_features()
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "vgg16.pth"
            torch.save({f"features.{k}": v for k, v in net.state_dict().items()} | {"classifier.0.weight": torch.zeros(1)},
                       path)
            loaded = load_vgg16_features(path)
            torch.testing.assert_close(loaded[0].weight, net[0].weight)
            bad = Path(d) / "bad.pth"
            torch.save({"conv.weight": torch.zeros(1)}, bad)
            with self.assertRaisesRegex(ValueError, "bad.pth"):
                load_vgg16_features(bad)
            with self.assertRaisesRegex(FileNotFoundError, "missing.pth"):
                load_vgg16_features(Path(d) / "missing.pth")
        with self.assertRaisesRegex(ValueError, "VGG16 weights"):
            load_vgg16_features(None)

    def test_gan_losses(self):
        big = torch.full((4, 9), 20.0)
        self.assertLess(float(critic_loss(big, -big)), 1e-6)
        self.assertGreater(float(critic_loss(-big, big)), 10)
        self.assertLess(float(generator_adv_loss(big)), 1e-6)


if __name__ == "__main__":
    unittest.main()


class EvaluateTest(unittest.TestCase):
    def test_metrics(self):
        from tintype_train.evaluate import psnr, ssim, y_channel
        self.assertAlmostEqual(float(y_channel(np.zeros((1, 1, 3)))[0, 0]), 16.0)
        self.assertAlmostEqual(float(y_channel(np.full((1, 1, 3), 255))[0, 0]), 235.0, places=3)
        a = np.random.default_rng(0).uniform(0, 255, (32, 32))
        self.assertAlmostEqual(psnr(a, a + 1.0), 20 * np.log10(255.0), places=6)
        self.assertAlmostEqual(ssim(a, a), 1.0, places=9)
        noise = np.random.default_rng(1).normal(0, 1, a.shape)
        self.assertLess(ssim(a, a + 40 * noise), ssim(a, a + 5 * noise))
        self.assertLess(ssim(a, a + 5 * noise), 1.0)

    def test_tiling_matches_whole_image_for_a_local_model(self):
        from tintype_train.evaluate import GeneratorRunner
        conv = torch.nn.Conv2d(3, 3, 3, padding=1)

        class Cfg:
            scale, out_channels = 1, 3

        class LocalRunner(GeneratorRunner):
            def __init__(self):  # no checkpoint: a 3x3 convolution stands in for the generator
                self.gen = type("G", (), {"cfg": Cfg})()

            def __call__(self, t):
                return conv(t)

        x = torch.rand(1, 3, 70, 90)
        with torch.no_grad():
            torch.testing.assert_close(LocalRunner().tiled(x, tile=32, overlap=4), conv(x), atol=1e-6, rtol=0)
