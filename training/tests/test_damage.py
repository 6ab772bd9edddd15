"""The synthetic print damage (damage.py) and the two repair tasks trained on it (detector, inpainter)."""

import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

from helpers import make_datasets, quiet, synthetic_image, tiny_config
from tintype_train import damage as D
from tintype_train.pack import build_pack

torch.set_num_threads(1)

NONE = dict(p_clean=0.0, scratches=(0, 0), p_cracks=0.0, dust=(0, 0), hairs=(0, 0), p_fold=0.0, p_tear=0.0,
            p_soft=0.0, p_grain=0.0, p_jpeg=0.0, p_zoom=0.0)


def _luma(x):
    return x.astype(np.float32) @ D.LUMA


def _photo(seed=3, w=96, h=80):
    # mid-grey base so bright and dark damage both show
    img = np.asarray(synthetic_image(np.random.default_rng(seed), w, h)).astype(np.float32)
    return np.clip(img * 0.5 + 64, 0, 255).astype(np.uint8)


class DamageTest(unittest.TestCase):
    def setUp(self):
        self.img = _photo()

    def test_same_seed_same_damage_and_seeds_differ(self):
        a = D.damage_seeded(self.img, 7)
        b = D.damage_seeded(self.img, 7)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
        c = D.damage_seeded(self.img, 8)
        self.assertFalse(np.array_equal(a[2], c[2]) and np.array_equal(a[0], c[0]))

    def test_shapes_types_and_bad_input(self):
        d, c, m = D.damage_seeded(self.img, 1)
        self.assertEqual(d.shape, self.img.shape)
        self.assertEqual(c.shape, self.img.shape)
        self.assertEqual(m.shape, self.img.shape[:2])
        self.assertEqual((d.dtype, c.dtype, m.dtype), (np.uint8, np.uint8, np.uint8))
        self.assertTrue(set(np.unique(m)) <= {0, 1})
        with self.assertRaisesRegex(ValueError, "HxWx3 uint8"):
            D.damage(self.img[..., 0], np.random.default_rng(0))
        with self.assertRaisesRegex(ValueError, "unknown option"):
            D.make_damage({"scratchez": 3})

    def test_clean_option_draws_nothing(self):
        cfg = D.make_damage({**NONE, "p_clean": 1.0, "scratches": (5, 5), "dust": (20, 20)})
        d, c, m = D.damage(self.img, np.random.default_rng(0), cfg)
        np.testing.assert_array_equal(d, c)
        self.assertEqual(int(m.sum()), 0)

    def test_mask_is_exactly_where_the_print_changed(self):
        # without the scan's softness/JPEG (which touch every pixel) and without folds (whose soft
        # flanks are shading, not damage), unmasked pixels stay within the mask's change threshold
        cfg = D.make_damage({"p_soft": 0.0, "p_grain": 0.0, "p_jpeg": 0.0, "p_fold": 0.0, "p_tear": 0.5})
        for seed in range(12):
            d, c, m = D.damage(self.img, np.random.default_rng(seed), cfg)
            diff = np.abs(_luma(d) - _luma(c))
            outside = diff[m == 0]
            self.assertLess(float(outside.max()) if outside.size else 0.0, 255 * cfg.mask_change + 1.5, f"seed {seed}")
            if m.any():
                self.assertGreater(float(diff[m == 1].mean()), 20, f"seed {seed}")

    def test_photo_details_are_in_the_clean_print_and_never_in_the_mask(self):
        # hard negatives: the details change the photo (both the clean target and the damaged
        # print), yet with no damage drawn the two are identical and nothing is masked
        cfg = D.make_damage({**NONE, "p_details": 1.0, "details": (3, 3)})
        changed = 0
        for seed in range(6):
            d, c, m = D.damage(self.img, np.random.default_rng(seed), cfg)
            np.testing.assert_array_equal(d, c)
            self.assertEqual(int(m.sum()), 0, f"seed {seed}")
            changed += int(np.any(np.abs(_luma(c) - _luma(self.img)) > 20))
        self.assertGreaterEqual(changed, 5)
        # with damage on top, the mask is still only where the damage changed the print
        cfg = D.make_damage({**NONE, "p_details": 1.0, "scratches": (3, 3)})
        for seed in range(6):
            d, c, m = D.damage(self.img, np.random.default_rng(seed), cfg)
            diff = np.abs(_luma(d) - _luma(c))
            self.assertLess(float(diff[m == 0].max()), 255 * cfg.mask_change + 1.5, f"seed {seed}")

    def test_details_are_off_by_default(self):
        # the held-out damage sets are generated with the defaults: they must not change
        self.assertEqual(D.DamageConfig().p_details, 0.0)
        a = D.damage_seeded(self.img, 5)
        b = D.damage_seeded(self.img, 5, D.make_damage({"p_details": 0.0}))
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)

    def test_film_scratches_run_edge_to_edge_and_are_off_by_default(self):
        # the held-out sets: no film scratches and the very same samples as before the option existed
        self.assertEqual(D.DamageConfig().p_film, 0.0)
        a = D.damage_seeded(self.img, 5)
        b = D.damage_seeded(self.img, 5, D.make_damage({"p_film": 0.0}))
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
        # forced: each sample's film mask crosses the picture from one edge to the opposite one
        cfg = D.make_damage({**NONE, "p_film": 1.0, "film": (1, 1), "scratch_opacity": (1.0, 1.0)})
        for seed in range(8):
            kinds = {}
            d, c, m = D.damage(self.img, np.random.default_rng(seed), cfg, kinds)
            film = kinds["film"]
            np.testing.assert_array_equal(film, m.astype(bool))
            self.assertLess(film.mean(), 0.2, f"seed {seed}")
            # (within 3 px of two edges: a broken one may have a gap right at the edge)
            ys, xs = np.nonzero(film)
            h, w = film.shape
            edges = [ys.min() < 3, ys.max() >= h - 3, xs.min() < 3, xs.max() >= w - 3]
            self.assertGreaterEqual(sum(edges), 2, f"seed {seed}: not edge to edge")
            self.assertGreaterEqual(max(np.ptp(ys), np.ptp(xs)), min(h, w) // 2, f"seed {seed}: too short")

    def test_borders_and_straight_details_are_negatives_and_off_by_default(self):
        # the held-out sets and the false-alarm set: the very same samples as before the options existed
        self.assertEqual((D.DamageConfig().p_borders, D.DamageConfig().p_straight), (0.0, 0.0))
        self.assertEqual(D.DamageConfig().tear_size, (0.1, 0.35))
        a = D.damage_seeded(self.img, 5)
        b = D.damage_seeded(self.img, 5, D.make_damage({"p_borders": 0.0, "p_straight": 0.0, "tear_size": (0.1, 0.35)}))
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
        # forced with no damage: the print changes (clean target and damaged alike), nothing is masked
        for opt in ("p_borders", "p_straight"):
            cfg = D.make_damage({**NONE, opt: 1.0})
            changed = 0
            for seed in range(6):
                d, c, m = D.damage(self.img, np.random.default_rng(seed), cfg)
                np.testing.assert_array_equal(d, c)
                self.assertEqual(int(m.sum()), 0, f"{opt} seed {seed}")
                changed += int(np.any(np.abs(_luma(c) - _luma(self.img)) > 20))
            self.assertGreaterEqual(changed, 5, opt)
        # with damage on top, the mask is still only where the damage changed the print
        cfg = D.make_damage({**NONE, "p_borders": 1.0, "p_straight": 1.0, "scratches": (3, 3)})
        for seed in range(6):
            d, c, m = D.damage(self.img, np.random.default_rng(seed), cfg)
            diff = np.abs(_luma(d) - _luma(c))
            self.assertLess(float(diff[m == 0].max()), 255 * cfg.mask_change + 1.5, f"seed {seed}")

    def test_print_border_hugs_the_frame_edge_to_edge(self):
        # a border runs the whole length of a side and stays within the deepest margin (18 px + rim)
        x = D.to_float(self.img)
        h, w = x.shape[:2]
        cfg = D.DamageConfig()
        for seed in range(10):
            changed = np.abs((D.print_border(x, np.random.default_rng(seed), cfg) - x) @ D.LUMA) >= cfg.mask_change
            self.assertTrue(changed.any(), f"seed {seed}")
            yy, xx = np.nonzero(changed)
            edge = np.minimum.reduce([yy, h - 1 - yy, xx, w - 1 - xx])
            self.assertLessEqual(int(edge.max()), 24, f"seed {seed}: a border far from the edge")
            # some side is marked over (nearly) its whole length
            cover = [changed[:, :24].any(1).mean(), changed[:, -24:].any(1).mean(),
                     changed[:24].any(0).mean(), changed[-24:].any(0).mean()]
            self.assertGreater(max(cover), 0.9, f"seed {seed}: not edge to edge")

    def test_straight_details_stay_thin_and_inside(self):
        # rods, rails and trim are thin structures: they cover a small part of the picture
        x = D.to_float(self.img)
        cfg = D.make_damage({"straight": (1, 1)})
        for seed in range(12):
            changed = np.abs((D.straight_details(x, np.random.default_rng(seed), cfg) - x) @ D.LUMA) >= cfg.mask_change
            self.assertLess(float(changed.mean()), 0.25, f"seed {seed}")

    def test_tear_size_scales_the_torn_corner(self):
        small = [D._tear(np.random.default_rng(s), 128, 128, (0.1, 0.1)).mean() for s in range(6)]
        large = [D._tear(np.random.default_rng(s), 128, 128, (0.5, 0.5)).mean() for s in range(6)]
        self.assertGreater(min(large), 4 * max(small))

    def test_kinds_are_reported_without_changing_the_sample(self):
        kinds = {}
        a = D.damage_seeded(self.img, 11, D.make_damage({"p_clean": 0.0, "p_tear": 1.0, "p_cracks": 1.0}))
        b = D.damage_seeded(self.img, 11, D.make_damage({"p_clean": 0.0, "p_tear": 1.0, "p_cracks": 1.0}), kinds)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
        self.assertIn("tear", kinds)
        self.assertIn("crack", kinds)
        union = np.zeros_like(b[2], bool)
        for k in kinds.values():
            union |= k
        self.assertTrue(np.all(b[2].astype(bool) >= union))

    def test_each_kind_can_be_forced(self):
        kinds = {"scratches": {"scratches": (3, 3)}, "cracks": {"p_cracks": 1.0}, "dust": {"dust": (30, 30)},
                 "hairs": {"hairs": (2, 2)}, "fold": {"p_fold": 1.0}, "tear": {"p_tear": 1.0}}
        for name, opts in kinds.items():
            cfg = D.make_damage({**NONE, **opts})
            hit = [D.damage(self.img, np.random.default_rng(s), cfg)[2].mean() for s in range(6)]
            self.assertGreater(max(hit), 0.0005, name)
            self.assertLess(np.median(hit), 0.5, name)
        # a tear takes a corner: a corner pixel is masked in most samples
        cfg = D.make_damage({**NONE, "p_tear": 1.0})
        corners = [D.damage(self.img, np.random.default_rng(s), cfg)[2][[0, 0, -1, -1], [0, -1, 0, -1]].max()
                   for s in range(6)]
        self.assertGreaterEqual(sum(corners), 5)

    def test_default_mix_damages_thin_structures(self):
        # most default samples are damaged, by a few per cent of the pixels, not a flood
        fractions = [D.damage_seeded(_photo(s % 3, 224, 224), s)[2].mean() for s in range(20)]
        self.assertGreaterEqual(sum(f > 0 for f in fractions), 15)
        self.assertLess(np.median(fractions), 0.1)

    def test_tones(self):
        cfg_grey = D.make_damage({**NONE, "p_grey": 1.0, "p_sepia": 0.0})
        _, c, _ = D.damage(np.asarray(synthetic_image(np.random.default_rng(1), 64, 48)), np.random.default_rng(0), cfg_grey)
        np.testing.assert_array_equal(c[..., 0], c[..., 2])
        cfg_sepia = D.make_damage({**NONE, "p_grey": 0.0, "p_sepia": 1.0})
        _, c, _ = D.damage(np.full((32, 32, 3), 128, np.uint8), np.random.default_rng(0), cfg_sepia)
        r, g, b = (float(c[..., i].mean()) for i in range(3))
        self.assertGreater(r, g)
        self.assertGreater(g, b)
        cfg_colour = D.make_damage({**NONE, "p_grey": 0.0, "p_sepia": 0.0})
        _, c, _ = D.damage(self.img, np.random.default_rng(0), cfg_colour)
        np.testing.assert_array_equal(c, self.img)

    def test_scan_is_shared_by_clean_and_damaged(self):
        # grain and softness are the scan's, so they are the same in both: only damage differs
        cfg = D.make_damage({**NONE, "p_soft": 1.0, "p_grain": 1.0, "p_grey": 1.0})
        d, c, m = D.damage(self.img, np.random.default_rng(4), cfg)
        np.testing.assert_array_equal(d, c)
        self.assertFalse(np.array_equal(c[..., 0], _luma(self.img).round().astype(np.uint8)))

    def test_sample_sheet(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "sheet.png"
            D.sample_sheet([self.img, _photo(5)], str(out), size=64)
            from PIL import Image
            with Image.open(out) as im:
                self.assertEqual(im.size, (2 * 3 * 64, 64))


class RepairTasks(unittest.TestCase):
    """The detector and inpainter train through the toolkit's Trainer (tiny models, two steps)."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root = Path(cls._tmp.name)
        make_datasets(cls.root / "ds", train=4, val=2)
        build_pack(cls.root / "ds", cls.root / "pack", log=quiet)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def _config(self, task):
        gen = ({"encoder": "mobilenet_v2", "depth": 5, "out_stride": 1, "attention_level": 0, "context": False,
                "decoder_channels": [16, 8, 8, 8, 8, 8]} if task == "repair" else {"width": 4, "dilations": [2]})
        cfg = tiny_config(self.root / "pack", "restore", generator=gen, data={"crop": 64, "val_size": 64},
                          optim={"freeze_encoder_steps": 100, "warmup": 1}, schedule={"gen_steps": 2})
        cfg["task"] = task
        cfg["crappifier"] = {"kind": "damage", "options": {}}
        cfg["generator"] = gen
        return cfg

    def test_detector_trains_validates_and_exports(self):
        from tintype_train.export import export_model
        from tintype_train.train import Trainer
        cfg = self._config("repair")
        run = self.root / "run-repair"
        tr = Trainer(cfg, run, device="cpu", log=quiet, resume=False)
        enc0 = {k: v.clone() for k, v in tr.gen.encoder.state_dict().items()}
        self.assertEqual(tr.run(), "done")  # no critic or GAN phases for a segmentation task
        for k, v in tr.gen.encoder.state_dict().items():
            self.assertTrue(torch.equal(v, enc0[k]), f"frozen encoder changed: {k}")
        row = tr.curve[-1]
        self.assertTrue({"tp", "fp", "fn", "score"} <= set(row))
        self.assertTrue(0.0 <= row["score"] <= 1.0)
        man = export_model(run / "best_gen.pt", self.root / "exp-repair", "t-repair", "T", log=quiet)
        self.assertEqual(man["task"], "repair")
        self.assertEqual(man["output"]["kind"], "mask")
        self.assertEqual(man["input"]["channels"], 3)
        self.assertEqual(man["size"]["multiple"], 32)
        import json
        fix = json.loads((self.root / "exp-repair" / "parity" / "parity.json").read_text())
        self.assertEqual(fix["output"]["shape"][1:], [1, *fix["input"]["shape"][2:]])  # full resolution
        # false alarms on undamaged photos with photo details: shares of pixels, falling with the threshold
        from tintype_train.repair_eval import false_alarms
        fa = false_alarms(str(run / "best_gen.pt"), str(self.root / "pack"), thresholds=(0.0, 0.5, 1.01))
        self.assertEqual(fa["photos"], 2)
        self.assertGreater(fa["detail_fraction"], 0.0)
        first, _, last = fa["rows"]
        self.assertEqual((first["detail_flagged"], first["all_flagged"]), (1.0, 1.0))  # threshold 0 flags all
        self.assertEqual((last["detail_flagged"], last["all_flagged"]), (0.0, 0.0))
        # where F1 is lost: at threshold 0 everything is flagged, so nothing is missed and every
        # kind's recall is 1; the false alarms split adds up to all unlabelled pixels
        from tintype_train.repair_eval import breakdown
        b = breakdown(str(run / "best_gen.pt"), str(self.root / "pack"), threshold=0.0)
        self.assertEqual(b["photos"], 2)
        self.assertEqual(b["recall"], 1.0)
        self.assertEqual(b["misses"], {"visible": 0, "not_visible": 0})
        self.assertTrue(b["recall_by_kind"])
        self.assertTrue(all(v["recall"] == 1.0 for v in b["recall_by_kind"].values()))
        self.assertGreater(sum(b["false_alarms"].values()), 0)
        self.assertEqual(len(b["grown"]), 4)

    def test_inpainter_trains_and_exports_two_inputs(self):
        from tintype_train.export import export_model, load_generator
        from tintype_train.train import Trainer
        cfg = self._config("inpaint")
        run = self.root / "run-inpaint"
        tr = Trainer(cfg, run, device="cpu", log=quiet, resume=False)
        self.assertEqual(tr.run(), "done")
        self.assertTrue({"psnr_hole", "psnr_hole_input", "score"} <= set(tr.curve[-1]))
        man = export_model(run / "best_gen.pt", self.root / "exp-inpaint", "t-inpaint", "T", log=quiet)
        self.assertEqual(man["task"], "inpaint")
        self.assertEqual(man["maskInput"]["name"], "mask")
        import json
        fix = json.loads((self.root / "exp-inpaint" / "parity" / "parity.json").read_text())
        self.assertEqual([t["name"] for t in fix["inputs"]], ["input", "mask"])
        # known pixels are kept exactly; the graph only fills the holes
        _, gen, _ = load_generator(run / "best_gen.pt")
        img = torch.rand(1, 3, 32, 40)
        m = torch.zeros(1, 1, 32, 40)
        m[..., 10:14, :] = 1
        with torch.no_grad():
            out = gen(torch.cat([img * (1 - m), m], 1))
        torch.testing.assert_close(out * (1 - m), img * (1 - m))


class RepairEvalTest(unittest.TestCase):
    def test_damage_set_is_deterministic_and_complete(self):
        from tintype_train.repair_eval import damage_set
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_datasets(root / "ds", train=2, val=0)
            a = damage_set(root / "ds", root / "a", sources=["train/synthetic"], log=quiet)
            b = damage_set(root / "ds", root / "b", sources=["train/synthetic"], log=quiet)
            self.assertEqual(len(a["items"]), 2)
            for it in a["items"]:
                for kind in ("damaged", "clean", "mask"):
                    self.assertEqual((root / "a" / f"{it['name']}.{kind}.png").read_bytes(),
                                     (root / "b" / f"{it['name']}.{kind}.png").read_bytes())
            with self.assertRaisesRegex(FileNotFoundError, "no such folder"):
                damage_set(root / "ds", root / "c", sources=["nope"], log=quiet)

    def test_score_outputs_of_another_program(self):
        from PIL import Image
        from tintype_train.repair_eval import damage_set, score_outputs
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_datasets(root / "ds", train=2, val=0)
            damage_set(root / "ds", root / "set", sources=["train/synthetic"], log=quiet)
            for k in ("detected", "perfect", "untouched"):
                (root / "out" / k).mkdir(parents=True)
            for n in ("000", "001"):
                Image.open(root / "set" / f"{n}.mask.png").save(root / "out" / "detected" / f"{n}.png")
                Image.open(root / "set" / f"{n}.damaged.png").save(root / "out" / "untouched" / f"{n}.png")
                # the clean print inside the mask, the damaged one outside: a perfect repair
                d = np.asarray(Image.open(root / "set" / f"{n}.damaged.png"))
                c = np.asarray(Image.open(root / "set" / f"{n}.clean.png"))
                m = np.asarray(Image.open(root / "set" / f"{n}.mask.png")) > 127
                Image.fromarray(np.where(m[..., None], c, d)).save(root / "out" / "perfect" / f"{n}.png")
            res = score_outputs(root / "set", root / "out")
            self.assertEqual(res["detection"]["f1"], 1.0)
            rows = {r["method"]: r for r in res["fill"]}
            self.assertEqual(rows["untouched"]["psnr"], rows["damaged"]["psnr"])
            self.assertGreater(rows["perfect"]["psnr"], rows["damaged"]["psnr"] + 20)
            self.assertEqual(rows["perfect"]["changed_outside"], 0.0)

    def test_masked_metrics_look_inside_the_mask_only(self):
        from tintype_train.repair_eval import _counts, _scores, masked_psnr, masked_ssim
        rng = np.random.default_rng(0)
        clean = rng.integers(0, 256, (40, 40, 3)).astype(np.uint8)
        m = np.zeros((40, 40), bool)
        m[10:20, 5:30] = True
        bad = clean.copy()
        bad[~m] = 0  # wrong outside the mask only
        self.assertGreater(masked_psnr(bad, clean, m), 90)
        self.assertAlmostEqual(masked_ssim(clean, clean, m), 1.0, places=6)
        worse = clean.copy()
        worse[m] = 255 - worse[m]
        self.assertLess(masked_psnr(worse, clean, m), 10)
        # one threshold: half the true pixels found, as many false ones
        prob = np.zeros((40, 40), np.float32)
        prob[10:15, 5:30] = 0.9
        prob[30:35, 5:30] = 0.9
        s = _scores(_counts(prob, m, [0.5])[0])
        self.assertEqual((s["precision"], s["recall"], s["f1"]), (0.5, 0.5, 0.5))
        self.assertAlmostEqual(s["iou"], 1 / 3, places=3)


if __name__ == "__main__":
    unittest.main()
