"""The pretrained encoder (MobileNetV2 from Coral's TFLite), the VGG19 slice, the MobileUNet
colorizer, its frozen-encoder feature cache and the pack's extra folders.

Tests that read ../shared/weights or ../shared/datasets skip, saying why, when those are absent."""

import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from helpers import make_datasets, quiet, tiny_config
from tintype_train.losses import FeatureLoss, load_feature_net, vgg19_conv3_1
from tintype_train.models import GeneratorConfig, MobileUNet, make_generator
from tintype_train.pack import build_pack, read_pack
from tintype_train.train import Trainer

torch.set_num_threads(1)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MOBILENET = SHARED / "weights" / "coral-mobilenet-v2" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
LABELS = SHARED / "weights" / "coral-mobilenet-v2" / "imagenet_labels.txt"
VGG19 = SHARED / "weights" / "vgg19-to-conv3_1" / "vgg19.model"
VAL = SHARED / "datasets" / "val" / "imagenet-sample"


def _mnv2_config(pack: Path, **over) -> dict:
    cfg = tiny_config(pack, "colorize", generator={"encoder": "mobilenet_v2", "depth": 5, "out_stride": 4,
                                                   "attention_level": 4, "decoder_channels": [16, 16, 8, 8]},
                      data={"crop": 64, "val_size": 64, "cache_views": ["squash", "crop"], "cache_size": 64,
                            "cache_dir": ""},
                      optim={"freeze_encoder_steps": 2, "encoder_lr_mult": 0.1, "warmup": 1},
                      schedule={"gen_steps": 4})
    from tintype_train.train import merge
    return merge(cfg, over)


@unittest.skipUnless(MOBILENET.is_file() and LABELS.is_file() and VAL.is_dir(),
                     f"needs {MOBILENET} and {VAL} (the shared weights and datasets)")
class CoralMobileNetV2(unittest.TestCase):
    def test_dequantised_classifier_names_photos(self):
        """The conversion (NHWC/OHWI kernels, [1,H,W,C] depthwise, right/bottom SAME padding, ReLU6,
        [-1, 1] input) is right when the classifier's top-1 is: one slip and it names nothing."""
        from tintype_train.mobilenet import MobileNetV2, load_coral_mobilenet_v2
        net = MobileNetV2(classifier=True).eval()
        quant = load_coral_mobilenet_v2(net, MOBILENET)
        # The uint8 input's quantisation: (q - 127) / 127.5, i.e. RGB in [-1, 1].
        self.assertAlmostEqual(quant["scale"], 1 / 127.5, places=6)
        self.assertEqual(quant["zero_point"], 127)
        labels = LABELS.read_text().splitlines()
        photos = {"n01601694_water_ouzel.jpg": "water ouzel", "n01796340_ptarmigan.jpg": "ptarmigan",
                  "n01820546_lorikeet.jpg": "lorikeet", "n02085782_Japanese_spaniel.jpg": "Japanese spaniel"}
        for name, want in photos.items():
            with Image.open(VAL / name) as im:
                rgb = np.asarray(im.convert("RGB").resize((224, 224), Image.BILINEAR), dtype=np.float32) / 255
            x = torch.from_numpy(rgb.transpose(2, 0, 1))[None]
            with torch.no_grad():
                p = torch.softmax(net.classify(net.normalise(x)), 1)[0]
            top = int(p.argmax())
            self.assertIn(want, labels[top], f"{name}: top-1 is {labels[top]!r}")
            self.assertGreater(float(p[top]), 0.5, name)

    def test_a_wrong_file_is_named(self):
        from tintype_train.mobilenet import MobileNetV2, load_coral_mobilenet_v2
        with tempfile.TemporaryDirectory() as d:
            bad = Path(d) / "bad.tflite"
            bad.write_bytes(b"\x00" * 64)
            with self.assertRaisesRegex(ValueError, "bad.tflite"):
                load_coral_mobilenet_v2(MobileNetV2(), bad)


@unittest.skipUnless(VGG19.is_file(), f"needs {VGG19} (the shared weights)")
class VGG19Slice(unittest.TestCase):
    def test_element_order(self):
        """Weights then biases per layer, kernels (O, I, kh, kw): trained 3x3 kernels are smooth, so
        horizontally adjacent taps correlate in the right layout and not in a shuffled one."""
        raw = np.fromfile(VGG19, dtype="<f4")
        net = vgg19_conv3_1(VGG19)
        convs = [m for m in net if isinstance(m, torch.nn.Conv2d)]
        self.assertEqual([tuple(c.weight.shape) for c in convs],
                         [(64, 3, 3, 3), (64, 64, 3, 3), (128, 64, 3, 3), (128, 128, 3, 3), (256, 128, 3, 3)])
        self.assertEqual(float(convs[-1].bias[-1]), float(raw[-1]))  # the file ends with conv3_1's biases

        def adjacent_corr(k: np.ndarray) -> float:
            return float(np.corrcoef(k[..., :-1].ravel(), k[..., 1:].ravel())[0, 1])

        for c in convs[1:]:
            k = c.weight.numpy()
            o, i = k.shape[:2]
            self.assertGreater(adjacent_corr(k), 0.4)
            # The same values read as (O, kh, kw, I): no spatial structure left.
            self.assertLess(abs(adjacent_corr(k.reshape(o, 3, 3, i).transpose(0, 3, 1, 2))), 0.15)

    def test_feature_loss_uses_it(self):
        net, opts = load_feature_net(VGG19.parent)
        fl = FeatureLoss(net, **opts)
        a = torch.rand(1, 3, 32, 32)
        self.assertEqual(float(fl(a, a)), 0.0)
        self.assertGreater(float(fl(a, (a + 0.1).clamp(0, 1))), 0.0)
        # Caffe input: BGR 0..255 minus the mean, so mid-grey in gives those means' differences.
        x = (fl.__class__._features(fl, torch.full((1, 3, 4, 4), 0.5)))
        self.assertEqual(len(x), 3)

    def test_wrong_size_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            bad = Path(d) / "short.model"
            np.zeros(10, "<f4").tofile(bad)
            with self.assertRaisesRegex(ValueError, "short.model"):
                vgg19_conv3_1(bad)


class MobileUNetModel(unittest.TestCase):
    def test_shapes_and_cached_decode_matches_forward(self):
        torch.manual_seed(0)
        g = make_generator(GeneratorConfig(in_channels=1, out_channels=16, depth=5, residual=False, out_stride=4,
                                           encoder="mobilenet_v2", attention_level=4,
                                           decoder_channels=(16, 16, 8, 8)))
        self.assertIsInstance(g, MobileUNet)
        x = torch.rand(2, 1, 64, 96)
        g(x)  # one train-mode pass: spectral norm's power iteration has run, as after any training step
        g.eval()
        with torch.no_grad():
            y = g(x)
            feats = g.encode(x)
            self.assertEqual(y.shape, (2, 16, 16, 24))
            self.assertEqual([f.shape[1] for f in feats], [24, 32, 96, 320])
            torch.testing.assert_close(g.decode(feats, x), y)
            # float16 storage of the features (the cache) changes little
            half = [f.half().float() for f in feats]
            self.assertLess(float((g.decode(half, x) - y).abs().max()), 0.05)

    def test_bad_options_are_refused(self):
        with self.assertRaisesRegex(ValueError, "out_stride"):
            make_generator(GeneratorConfig(in_channels=1, out_channels=4, depth=5, residual=False, out_stride=16,
                                           encoder="mobilenet_v2"))
        with self.assertRaisesRegex(ValueError, "decoder_channels needs 6"):  # out_stride 1 adds a full-res stage
            make_generator(GeneratorConfig(in_channels=3, out_channels=1, depth=5, residual=False, out_stride=1,
                                           encoder="mobilenet_v2", decoder_channels=(16, 8, 8, 8, 8)))
        with self.assertRaisesRegex(ValueError, "encoder"):
            make_generator(GeneratorConfig(encoder="resnet50"))


class FrozenEncoderTraining(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root = Path(cls._tmp.name)
        make_datasets(cls.root / "ds", train=4, val=2)
        build_pack(cls.root / "ds", cls.root / "pack", log=quiet)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_encoder_frozen_then_fine_tuned_and_resume_is_identical(self):
        cfg = _mnv2_config(self.root / "pack")
        tr = Trainer(cfg, self.root / "run", device="cpu", log=quiet, resume=False)
        enc0 = {k: v.clone() for k, v in tr.gen.encoder.state_dict().items()}
        dec0 = tr.gen.head.weight.detach().clone()
        tr.run(max_steps=2)
        self.assertIsNotNone(tr._cache)  # the frozen steps trained on cached features
        self.assertEqual(len(tr._cache), 4 * 2)
        for k, v in tr.gen.encoder.state_dict().items():
            self.assertTrue(torch.equal(v, enc0[k]), f"frozen encoder changed: {k}")
        self.assertFalse(torch.equal(tr.gen.head.weight, dec0))
        # Resumed in a new process-like Trainer, the rest matches an uninterrupted run.
        tr2 = Trainer(cfg, self.root / "run", device="cpu", log=quiet)
        tr2.run()
        changed = any(not torch.equal(v, enc0[k]) for k, v in tr2.gen.encoder.state_dict().items())
        self.assertTrue(changed, "the encoder never trained after freeze_encoder_steps")
        groups = {bool(g.get("encoder")): g["lr"] for g in tr2.opt_g.param_groups}
        self.assertAlmostEqual(groups[True], groups[False] * 0.1, places=9)
        ref = Trainer(cfg, self.root / "ref", device="cpu", log=quiet, resume=False)
        ref.run()
        for k, v in ref.gen.state_dict().items():
            self.assertTrue(torch.equal(v, tr2.gen.state_dict()[k]), k)


    def test_holdout_photos_validate_and_never_train(self):
        from tintype_train.data import holdout_split
        files = [Path(f"{i}.jpg") for i in range(10)]
        train, held = holdout_split(files, 3)
        self.assertEqual(held, [Path("2.jpg"), Path("5.jpg"), Path("8.jpg")])
        self.assertEqual(sorted(train + held), sorted(files))
        self.assertEqual(holdout_split(files, 0), (files, []))
        cfg = _mnv2_config(self.root / "pack", data={"holdout_every": 2, "val_view": "squash", "val_count": 10})
        tr = Trainer(cfg, self.root / "run-holdout", device="cpu", log=quiet, resume=False)
        every = read_pack(self.root / "pack", "train")
        self.assertEqual(tr.val_images.files, every[1::2])   # not the pack's val split
        self.assertEqual(tr.train_images.files, every[0::2])
        tr.run(max_steps=2)
        self.assertEqual(len(tr._cache), 2 * 2)  # only the photos left for training are cached
        # A squashed validation view is the whole photo at val_size x val_size.
        from tintype_train.data import PairDataset
        ds = PairDataset(tr.val_images, tr.task, 64, 0, fixed=True, fixed_view="squash")
        self.assertEqual(tuple(ds[0][-1].shape), (3, 64, 64))
        with self.assertRaisesRegex(ValueError, "val_view"):
            PairDataset(tr.val_images, tr.task, 64, 0, fixed=True, fixed_view="middle")

    def test_cached_stability_twin_and_resume(self):
        """With the stability loss, frozen steps compare the decoder's answers on a twin cache: the
        same views (same crops, same truth) damaged again with other draws."""
        opts = {"p_noise": 1.0, "noise_sigma": [0.05, 0.1]}
        cfg = _mnv2_config(self.root / "pack", loss={"stability": 5.0},
                           crappifier={"kind": "colorize", "options": opts}, schedule={"gen_steps": 2})
        tr = Trainer(cfg, self.root / "run-stable", device="cpu", log=quiet, resume=False)
        tr.run(max_steps=1)
        a, b = tr._cache, tr._twin
        self.assertIsNotNone(b)
        self.assertTrue(np.array_equal(np.asarray(a.arrays["ab"]), np.asarray(b.arrays["ab"])))
        self.assertFalse(np.array_equal(np.asarray(a.arrays["grey"]), np.asarray(b.arrays["grey"])))
        diff = np.abs(np.asarray(a.arrays["grey"], np.int16) - np.asarray(b.arrays["grey"], np.int16)).mean()
        self.assertLess(diff, 40)  # the same picture, other noise
        # The loss is both content terms plus w times the decoded chroma's difference.
        batch = tr._cached_batch()
        with torch.no_grad():
            (f1, g1, ab), (f2, g2, _) = batch
            tr.gen.eval()  # spectral norm without its power iteration, so the three decodes agree
            total = float(tr._cached_loss(batch))
            y1, y2 = tr.gen.decode(f1, g1), tr.gen.decode(f2, g2)
            view = tr.task.consistency_view
            want = (float(tr.task.color_loss(y1, ab)) + float(tr.task.color_loss(y2, ab))
                    + 5.0 * float((view(y1) - view(y2)).abs().mean()))
        self.assertAlmostEqual(total, want, places=4)
        # A twin of only some views: those rows pair with the same photo and view of the main cache.
        part = _mnv2_config(self.root / "pack", loss={"stability": 5.0}, data={"twin_views": ["crop"]},
                            crappifier={"kind": "colorize", "options": opts})
        tp = Trainer(part, self.root / "run-part", device="cpu", log=quiet, resume=False)
        (m1, mg, mab), (t1, tg, tab) = tp._cached_batch()
        self.assertEqual(len(tp._twin), 4)
        self.assertTrue(torch.equal(mab, tab))
        self.assertFalse(torch.equal(mg, tg))
        self.assertTrue(torch.equal(tab, torch.from_numpy(np.asarray(tr._cache.arrays["ab"][1::2])).float()[
            np.sort(np.random.default_rng([int(part["seed"]), 4242, 0]).choice(4, 2, replace=False))]))
        tr2 = Trainer(cfg, self.root / "run-stable", device="cpu", log=quiet)
        tr2.run()
        ref = Trainer(cfg, self.root / "ref-stable", device="cpu", log=quiet, resume=False)
        ref.run()
        for k, v in ref.gen.state_dict().items():
            self.assertTrue(torch.equal(v, tr2.gen.state_dict()[k]), k)

    @unittest.skipUnless(MOBILENET.is_file(), f"needs {MOBILENET} (the shared weights)")
    def test_slim_checkpoint_reloads_the_frozen_encoder(self):
        from tintype_train.export import load_generator, slim_checkpoint
        cfg = _mnv2_config(self.root / "pack", pretrained={"encoder": str(MOBILENET)})
        run = self.root / "run-slim"
        Trainer(cfg, run, device="cpu", log=quiet, resume=False).run(max_steps=2)
        slim_checkpoint(run / "best_gen.pt", run / "slim.pt", log=quiet)
        self.assertLess((run / "slim.pt").stat().st_size, (run / "best_gen.pt").stat().st_size / 2)
        _, full, _ = load_generator(run / "best_gen.pt")
        _, slim, _ = load_generator(run / "slim.pt")
        x = torch.rand(1, 1, 64, 64)
        with torch.no_grad():
            self.assertTrue(torch.equal(full(x), slim(x)))
        # A snapshot of latest.pt (its colour prior under "extra") keeps the prior, and so does a mean of
        # snapshots: a rebalanced decoding needs it.
        slim_checkpoint(run / "latest.pt", run / "snap.pt", log=quiet)
        from tintype_train.export import average_checkpoints
        average_checkpoints([run / "snap.pt", run / "slim.pt"], run / "mean.pt", log=quiet)
        for f in ("snap.pt", "mean.pt"):
            task, _, _ = load_generator(run / f)
            self.assertIsNotNone(task.prior, f)
        # An encoder that no longer matches its file (fine-tuned) is refused.
        rec = torch.load(run / "best_gen.pt")
        key = next(k for k in rec["generator"] if k.startswith("encoder.") and k.endswith("weight"))
        rec["generator"][key] = rec["generator"][key] + 1e-3
        torch.save(rec, run / "tuned.pt")
        with self.assertRaisesRegex(ValueError, "fine-tuned"):
            slim_checkpoint(run / "tuned.pt", run / "slim2.pt", log=quiet)
        # A new stage starts from the slim checkpoint (init_from), with the same weights.
        cfg2 = _mnv2_config(self.root / "pack", pretrained={"init_from": str(run / "slim.pt")})
        tr = Trainer(cfg2, self.root / "run-from-slim", device="cpu", log=quiet, resume=False)
        tr.gen.eval()
        with torch.no_grad():
            self.assertTrue(torch.equal(tr.gen(x), slim(x)))
        # ... and that stage, its encoder still frozen, slims too (the encoder file is the slim one's)
        tr.run(max_steps=2)
        slim_checkpoint(self.root / "run-from-slim" / "best_gen.pt", self.root / "slim3.pt", log=quiet)
        _, again, rec3 = load_generator(self.root / "slim3.pt")
        self.assertEqual(rec3["encoder_source"]["file"], str(MOBILENET))
        _, stage, _ = load_generator(self.root / "run-from-slim" / "best_gen.pt")
        with torch.no_grad():
            self.assertTrue(torch.equal(again(x), stage(x)))


class RestoreContextEncoder(unittest.TestCase):
    """tintype-restore with MobileNetV2 (frozen, at half resolution) as context at the bottleneck."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root = Path(cls._tmp.name)
        make_datasets(cls.root / "ds", train=4, val=2)
        build_pack(cls.root / "ds", cls.root / "pack", log=quiet)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def _cfg(self, **gen):
        return tiny_config(self.root / "pack", generator={"width": 8, "depth": 3, "blocks": 1, "attention_level": 2,
                                                          "zero_head": False, **gen},
                           data={"crop": 64, "val_size": 64}, schedule={"gen_steps": 2})

    def test_starts_as_the_plain_model_and_trains_only_the_context(self):
        from tintype_train.export import load_generator
        plain_run = self.root / "plain"
        Trainer(self._cfg(), plain_run, device="cpu", log=quiet, resume=False).run(max_steps=2)
        pre = {"init_from": str(plain_run / "best_gen.pt")}
        if MOBILENET.is_file():  # without the shared weights the encoder keeps its random start
            pre["encoder"] = str(MOBILENET)
        cfg = self._cfg(context_encoder="mobilenet_v2")
        cfg["pretrained"] = pre
        tr = Trainer(cfg, self.root / "ctx", device="cpu", log=quiet, resume=False)
        self.assertEqual(tr.gen.cfg.multiple, 32)
        _, plain, _ = load_generator(plain_run / "best_gen.pt")
        x = torch.rand(1, 3, 64, 96)
        tr.gen.eval()
        with torch.no_grad():
            torch.testing.assert_close(tr.gen(x), plain(x))  # the context's last layer starts at zero
        enc0 = {k: v.clone() for k, v in tr.gen.encoder.state_dict().items()}
        ctx0 = {k: v.clone() for k, v in tr.gen.context.state_dict().items()}
        tr.run(max_steps=2)
        for k, v in tr.gen.encoder.state_dict().items():
            self.assertTrue(torch.equal(v, enc0[k]), k)  # frozen
        self.assertTrue(any(not torch.equal(v, ctx0[k]) for k, v in tr.gen.context.state_dict().items()))
        # Only the blocks up to the stride-16 tap are kept.
        self.assertEqual(len(tr.gen.encoder.blocks), 14)
        if MOBILENET.is_file():
            from tintype_train.export import slim_checkpoint
            run = self.root / "ctx"
            slim_checkpoint(run / "best_gen.pt", run / "slim.pt", log=quiet)
            _, full, _ = load_generator(run / "best_gen.pt")
            _, slim, _ = load_generator(run / "slim.pt")
            with torch.no_grad():
                self.assertTrue(torch.equal(full(x), slim(x)))

    def test_bad_options_are_refused(self):
        with self.assertRaisesRegex(ValueError, "context_encoder"):
            make_generator(GeneratorConfig(width=8, depth=4, context_encoder="mobilenet_v2"))
        with self.assertRaisesRegex(ValueError, "context_encoder"):
            make_generator(GeneratorConfig(width=8, depth=3, context_encoder="vgg"))
        cfg = self._cfg()
        cfg["pretrained"] = {"encoder": str(MOBILENET)}
        with self.assertRaisesRegex(ValueError, "context_encoder"):
            Trainer(cfg, self.root / "bad", device="cpu", log=quiet, resume=False)


class PackExtra(unittest.TestCase):
    def test_extra_folders_join_train_and_thin_keeps_every_nth(self):
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            make_datasets(root / "ds", train=3, val=1)
            extra = make_datasets(root / "tmp", train=9, val=0, seed=3) / "train" / "synthetic"
            (root / "ds" / "more").mkdir()
            extra.rename(root / "ds" / "more" / "narrow")
            m = build_pack(root / "ds", root / "pack", log=quiet, extra=("more",), thin={"more/narrow": 4})
            sources = [e["source"] for e in m["images"] if e["file"].startswith("train/")]
            self.assertEqual(len(sources), 3 + 3)  # 9 narrow photos, every 4th: 0, 4, 8
            self.assertEqual([s for s in sources if s.startswith("more/")],
                             ["more/narrow/000.png", "more/narrow/004.png", "more/narrow/008.png"])
            self.assertEqual(len(read_pack(root / "pack", "train")), 6)
            with self.assertRaisesRegex(FileNotFoundError, "missing"):
                build_pack(root / "ds", root / "pack2", log=quiet, extra=("missing",))


if __name__ == "__main__":
    unittest.main()
