"""Checkpoint resume, the NoGAN phases, selection and the pack, on tiny generated images."""

import json
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

from helpers import make_datasets, quiet, tiny_config
from tintype_train.checkpoint import load_checkpoint
from tintype_train.compat import strip_spectral_norm
from tintype_train.models import Generator, GeneratorConfig
from tintype_train.pack import build_pack
from tintype_train.tasks import make_task
from tintype_train.selection import read_curve, select_best, smooth, write_curve
from tintype_train.train import Trainer

torch.set_num_threads(1)


def ab_of(task, g, x):
    """The export module's answer without a blur (a flat input is unchanged by any blur)."""
    blur, task.input_blur = task.input_blur, 0.0
    try:
        return task.export_module(g)(x)
    finally:
        task.input_blur = blur


class _Scaled(torch.nn.Module):
    """A generator whose answer is scaled (its config kept, as export modules read it)."""

    def __init__(self, gen, factor: float):
        super().__init__()
        self.gen, self.cfg, self.factor = gen, gen.cfg, factor

    def forward(self, x):
        return self.gen(x) * self.factor


class _Fixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root = Path(cls._tmp.name)
        make_datasets(cls.root / "ds")
        build_pack(cls.root / "ds", cls.root / "pack", log=quiet)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()


def _states_equal(test, a: dict, b: dict):
    test.assertEqual(sorted(a), sorted(b))
    for k in a:
        test.assertTrue(torch.equal(a[k], b[k]), k)


class ResumeTest(_Fixture):
    def _run(self, name, cfg, splits):
        run = self.root / name
        for steps in splits:
            Trainer(cfg, run, device="cpu", log=quiet).run(max_steps=steps)
        return load_checkpoint(run / "latest.pt"), run

    def test_resumed_training_is_identical(self):
        for task in ("restore", "colorize"):
            cfg = tiny_config(self.root / "pack", task, loss={"stability": 1.0})
            # gen 3 + save_outputs + critic 2 + gan 2: straight through, or in pieces across "sessions"
            a, run_a = self._run(f"{task}-straight", cfg, [100])
            b, run_b = self._run(f"{task}-pieces", cfg, [2, 2, 1, 100])
            self.assertEqual(a["phase"], "done")
            self.assertEqual((a["phase"], a["step"]), (b["phase"], b["step"]))
            _states_equal(self, a["models"]["gen"], b["models"]["gen"])
            _states_equal(self, a["models"]["critic"], b["models"]["critic"])
            strip = lambda rows: [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]
            self.assertEqual(strip(read_curve(run_a)), strip(read_curve(run_b)))
            self.assertTrue((run_a / "best_gen.pt").is_file())

    def test_checkpoint_holds_everything_needed(self):
        cfg = tiny_config(self.root / "pack")
        ckpt, _ = self._run("contents", cfg, [2])
        self.assertEqual((ckpt["phase"], ckpt["step"], ckpt["phase_step"]), ("gen", 2, 2))
        self.assertIn("state", ckpt["optimizers"]["gen"])
        self.assertEqual(set(ckpt["rng"]) >= {"python", "numpy", "torch"}, True)
        self.assertEqual(ckpt["extra"]["samples"], 4)
        self.assertEqual(len(ckpt["extra"]["curve"]), 1)

    def test_bfloat16_optimizer_state_resumes(self):
        cfg = tiny_config(self.root / "pack", optimizer_dtype="bfloat16")
        ckpt, run = self._run("bf16", cfg, [2])
        moments = [v for s in ckpt["optimizers"]["gen"]["state"].values() for v in s.values()
                   if torch.is_tensor(v) and v.dim() > 0]
        self.assertTrue(moments and all(m.dtype == torch.bfloat16 for m in moments))
        t = Trainer(cfg, run, device="cpu", log=quiet)
        t.run(max_steps=1)
        self.assertEqual(t.step, 3)

    def test_split_checkpoint_files_resume(self):
        cfg = tiny_config(self.root / "pack", max_file_mb=0.05)
        ckpt, run = self._run("parts", cfg, [2])
        parts = sorted(p.name for p in run.glob("latest.pt*"))
        self.assertGreater(len(parts), 1)
        self.assertTrue(all(n.startswith("latest.pt.part") for n in parts))
        self.assertTrue(all(p.stat().st_size <= 0.05 * 2 ** 20 for p in run.glob("latest.pt.part*")))
        t = Trainer(cfg, run, device="cpu", log=quiet)
        self.assertEqual(t.step, 2)
        t.run(max_steps=1)
        self.assertEqual(load_checkpoint(run / "latest.pt")["step"], 3)

    def test_weights_only_checkpoint_resumes_without_adam(self):
        cfg = tiny_config(self.root / "pack", optimizer_dtype="none")
        ckpt, run = self._run("noopt", cfg, [2])
        self.assertEqual(ckpt["optimizers"], {})
        lines = []
        t = Trainer(cfg, run, device="cpu", log=lines.append)
        self.assertTrue(any("Adam restarts" in line for line in lines))
        _states_equal(self, {k: v for k, v in t.gen.state_dict().items()}, ckpt["models"]["gen"])

    def test_lost_generator_outputs_are_regenerated(self):
        cfg = tiny_config(self.root / "pack")
        _, run = self._run("regen", cfg, [3 + 1])  # through save_outputs (the phase change is not a step)
        t = Trainer(cfg, run, device="cpu", log=quiet)
        self.assertEqual(t.phase, "critic")
        first = np.load(run / "gen_outputs.npz")["fake"].copy()
        (run / "gen_outputs.npz").unlink()
        t.run(max_steps=1)
        np.testing.assert_array_equal(np.load(run / "gen_outputs.npz")["fake"], first)

    def test_average_of_checkpoints_is_the_mean_of_their_weights(self):
        from tintype_train.export import average_checkpoints, load_generator
        cfg = tiny_config(self.root / "pack", "colorize")
        _, run = self._run("avg-a", cfg, [2])
        _, run2 = self._run("avg-b", cfg, [4])
        out = self.root / "avg.pt"
        average_checkpoints([run / "latest.pt", run2 / "latest.pt"], out, log=quiet)
        _, a, _ = load_generator(run / "latest.pt")
        _, b, _ = load_generator(run2 / "latest.pt")
        _, m, rec = load_generator(out)
        sa, sb, sm = a.state_dict(), b.state_dict(), m.state_dict()
        moved = [k for k in sa if sa[k].is_floating_point() and not torch.equal(sa[k], sb[k])
                 and not k.endswith(("_u", "_v"))]
        self.assertTrue(moved)
        for k in moved:
            self.assertTrue(torch.allclose(sm[k], (sa[k] + sb[k]) / 2), k)
        self.assertEqual(rec["step"], 4)
        # Another architecture cannot be averaged in.
        other = tiny_config(self.root / "pack", "colorize", generator={"width": 12})
        _, run3 = self._run("avg-c", other, [1])
        with self.assertRaisesRegex(ValueError, "generator config differs"):
            average_checkpoints([run / "latest.pt", run3 / "latest.pt"], self.root / "avg2.pt", log=quiet)

    def test_changed_architecture_is_refused(self):
        cfg = tiny_config(self.root / "pack")
        _, run = self._run("arch", cfg, [1])
        other = tiny_config(self.root / "pack", generator={"width": 16})
        with self.assertRaisesRegex(ValueError, "generator"):
            Trainer(other, run, device="cpu", log=quiet)

    def test_broken_checkpoint_is_named(self):
        run = self.root / "broken"
        run.mkdir()
        (run / "latest.pt").write_bytes(b"not a checkpoint")
        with self.assertRaisesRegex(ValueError, "latest.pt"):
            Trainer(tiny_config(self.root / "pack"), run, device="cpu", log=quiet)


class SelectionTest(unittest.TestCase):
    rows = [{"step": s, "phase": p, "score": v} for s, p, v in
            [(100, "gen", 20.0), (200, "gen", 22.0), (300, "gen", 23.0), (400, "gan", 23.5), (500, "gan", 23.4),
             (600, "gan", 21.0), (700, "gan", 23.6)]]

    def test_picks_the_peak(self):
        self.assertEqual(select_best(self.rows)["step"], 700)
        self.assertEqual(select_best(self.rows[:6])["step"], 400)

    def test_smoothing_ignores_a_lone_spike(self):
        self.assertEqual(select_best(self.rows, window=2)["step"], 500)

    def test_phase_filter_ties_and_direction(self):
        self.assertEqual(select_best(self.rows, phases=["gen"])["step"], 300)
        tie = [{"step": 1, "score": 1.0}, {"step": 2, "score": 1.0}]
        self.assertEqual(select_best(tie)["step"], 1)
        self.assertEqual(select_best(self.rows, higher_is_better=False)["step"], 100)
        self.assertIsNone(select_best([{"step": 1}]))

    def test_smooth_is_trailing(self):
        self.assertEqual(smooth([1, 3, 5], 2), [1, 2, 4])

    def test_curve_files(self):
        with tempfile.TemporaryDirectory() as d:
            write_curve(self.rows + [{"step": 800, "phase": "gan", "score": 1.0, "psnr": 2.0}], d)
            self.assertEqual(read_curve(d)[-1]["psnr"], 2.0)
            lines = (Path(d) / "metrics.csv").read_text().splitlines()
            self.assertEqual(lines[0], "step,phase,score,psnr")
            self.assertEqual(len(lines), 9)


class PackTest(_Fixture):
    def test_pack_is_deterministic(self):
        build_pack(self.root / "ds", self.root / "pack2", log=quiet)
        a = (self.root / "pack" / "manifest.json").read_bytes()
        self.assertEqual(a, (self.root / "pack2" / "manifest.json").read_bytes())
        m = json.loads(a)
        self.assertEqual(len(m["images"]), 8)
        self.assertEqual({e["file"].split("/")[0] for e in m["images"]}, {"train", "val"})

    def test_size_limit_and_resize(self):
        with self.assertRaisesRegex(ValueError, "max-mb"):
            build_pack(self.root / "ds", self.root / "pack3", max_mb=0.001, log=quiet)
        self.assertFalse((self.root / "pack3").exists())
        m = build_pack(self.root / "ds", self.root / "pack4", short_side=24, log=quiet)
        self.assertTrue(all(min(e["width"], e["height"]) == 24 for e in m["images"]))

    def test_benchmark_images_stay_out(self):
        ds = self.root / "ds-leak"
        make_datasets(ds, train=3, val=1, seed=4)
        bench = ds / "eval" / "sr" / "BSD100"
        bench.mkdir(parents=True)
        from PIL import Image
        src = ds / "train" / "synthetic" / "001.png"
        Image.open(src).save(bench / "img_001.png")
        # Renamed and re-encoded as JPEG, as the real train/ copies would be.
        Image.open(src).convert("RGB").save(ds / "train" / "synthetic" / "999.jpg", quality=90)
        src.unlink()
        m = build_pack(ds, self.root / "pack-leak", log=quiet)
        self.assertEqual(len(m["excluded_as_benchmark"]), 1)
        self.assertIn("999.jpg", m["excluded_as_benchmark"][0])
        self.assertEqual(len([e for e in m["images"] if e["file"].startswith("train/")]), 2)


class ModelTest(unittest.TestCase):
    def test_strip_spectral_norm_keeps_outputs(self):
        torch.manual_seed(0)
        g = Generator(GeneratorConfig(width=8, depth=2, blocks=1, attention_level=1, zero_head=False))
        g.train()
        g(torch.rand(2, 3, 16, 16))  # one power iteration, as in training
        g.eval()
        x = torch.rand(1, 3, 16, 24)
        with torch.no_grad():
            before = g(x)
            after = strip_spectral_norm(g)(x)
        torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)

    def test_three_frames_and_scale(self):
        g = Generator(GeneratorConfig(in_channels=1, out_channels=1, frames=3, scale=4, width=8, depth=2,
                                      attention_level=1)).eval()
        self.assertEqual(tuple(g(torch.rand(1, 3, 8, 12)).shape), (1, 1, 32, 48))

    def test_strided_colorizer_answers_at_low_resolution_and_exports_full_size(self):
        # Seeded: the flat-input blur check below compares two float paths through random weights, and
        # some draws amplify the blur's rounding past 1e-5 (which draw came depended on earlier tests).
        torch.manual_seed(0)
        cfg = {"task": "colorize", "crappifier": {"kind": "colorize"}, "loss": {"color": {"bins": 8}},
               "generator": {"width": 8, "depth": 3, "blocks": 1, "attention_level": 1, "out_stride": 4}}
        task = make_task(cfg, torch.device("cpu"), training=False)
        g = Generator(task.generator_config()).eval()
        x = torch.rand(2, 1, 32, 48)
        logits = g(x)
        self.assertEqual(tuple(logits.shape), (2, 64, 8, 12))
        target = torch.rand(2, 3, 32, 48)
        loss = task.content_loss(logits, target)
        self.assertTrue(torch.isfinite(loss))
        self.assertEqual(tuple(task.image(logits, target).shape), (2, 3, 32, 48))
        with torch.no_grad():
            ab = task.export_module(g)(x)
            low = task.decode(g(x)) / 128.0
        self.assertEqual(tuple(ab.shape), (2, 2, 32, 48))
        torch.testing.assert_close(ab, torch.nn.functional.interpolate(low, scale_factor=4.0, mode="bilinear",
                                                                      align_corners=False), atol=1e-5, rtol=1e-5)
        # The video variant's in-graph input blur: the same network on the blurred grey input.
        task.input_blur = 1.0
        with torch.no_grad():
            blurred = task.export_module(g)(x)
            flat = torch.full((1, 1, 32, 48), 0.3)
            torch.testing.assert_close(task.export_module(g)(flat), ab_of(task, g, flat), atol=1e-5, rtol=1e-5)
        self.assertGreater(float((blurred - ab).abs().max()), 1e-4)  # noise input: the blur changes the answer
        task.input_blur = 0.0
        # Rebalanced decoding is baked into the graph as well: the export answers as task.decode does.
        prior = torch.rand(task.bins.q, generator=torch.Generator().manual_seed(3)) * 100 + 1
        task.set_prior(prior)
        tamed = _Scaled(g, 1e-3)  # random weights give logits in the thousands: a one-hot softmax
        with torch.no_grad():
            plain = task.export_module(tamed)(x)
            task.rebalance = 0.6
            rebalanced = task.export_module(tamed)(x)
            low = task.decode(tamed(x)) / 128.0
        torch.testing.assert_close(rebalanced, torch.nn.functional.interpolate(low, scale_factor=4.0, mode="bilinear",
                                                                              align_corners=False), atol=1e-5, rtol=1e-5)
        self.assertGreater(float((rebalanced - plain).abs().max()), 1e-3)
        task.rebalance = 0.0
        with self.assertRaises(ValueError):
            Generator(GeneratorConfig(width=8, depth=2, out_stride=8, residual=False, out_channels=4))
        with self.assertRaises(ValueError):
            Generator(GeneratorConfig(width=8, depth=2, out_stride=2))  # residual restore model

    def test_residual_generator_starts_as_identity(self):
        g = Generator(GeneratorConfig(width=8, depth=2, blocks=1)).eval()
        x = torch.rand(1, 3, 16, 16)
        with torch.no_grad():
            torch.testing.assert_close(g(x), x)


if __name__ == "__main__":
    unittest.main()


class GreyShareTest(_Fixture):
    def _samples(self, p_grey: float, n: int = 40):
        from tintype_train.data import ImageCache, PairDataset
        from tintype_train.pack import read_pack
        images = ImageCache(read_pack(self.root / "pack", "train"))
        ds = PairDataset(images, make_task(tiny_config(self.root / "pack"), torch.device("cpu")), 16, seed=5,
                         p_grey=p_grey)
        return [ds[i] for i in range(n)]

    @staticmethod
    def _is_grey(t: torch.Tensor) -> bool:
        return bool(torch.equal(t[0], t[1]) and torch.equal(t[1], t[2]))

    def test_share_of_black_and_white_samples(self):
        none = self._samples(0.0)
        self.assertFalse(any(self._is_grey(t) for _, t in none))
        some = self._samples(0.5)
        grey = [self._is_grey(t) for _, t in some]
        self.assertTrue(5 < sum(grey) < 35, sum(grey))
        # A black-and-white target has a black-and-white input (the damage adds no colour to it when
        # the noise is grey; colour noise may, so only the target is checked exactly).
        self.assertTrue(all(self._is_grey(t) for (_, t), g in zip(some, grey) if g))

    def test_colorize_refuses_it(self):
        from tintype_train.train import load_config
        cfg = self.root / "bad.json"
        cfg.write_text(json.dumps({"task": "colorize", "data": {"grey": 0.3}}))
        with self.assertRaisesRegex(ValueError, "data.grey"):
            load_config(str(cfg))


class SquashShareTest(_Fixture):
    def test_share_of_whole_photo_views(self):
        from tintype_train.data import ImageCache, PairDataset, squash
        from tintype_train.pack import read_pack
        images = ImageCache(read_pack(self.root / "pack", "train"))
        task = make_task(tiny_config(self.root / "pack", "colorize"), torch.device("cpu"))
        plain = PairDataset(images, task, 16, seed=5)
        # p_squash 0 draws nothing more: the sample stream of older configs is unchanged
        zero = PairDataset(images, task, 16, seed=5, p_squash=0.0)
        for i in range(5):
            self.assertTrue(torch.equal(plain[i][1], zero[i][1]))
        ds = PairDataset(images, task, 16, seed=5, p_squash=0.5)
        whole = []
        for i in range(40):
            rng = np.random.default_rng([5, i])
            img = images.get(int(rng.integers(len(images))))
            sq = torch.from_numpy(np.ascontiguousarray(squash(img, 16).transpose(2, 0, 1))).float() / 255
            t = ds[i][1]
            whole.append(bool(torch.allclose(t, sq) or torch.allclose(t, sq.flip(-1))))
        self.assertTrue(5 < sum(whole) < 35, sum(whole))
