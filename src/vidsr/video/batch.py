"""Batches, and the work shared between processes, GPUs and machines (``torchrun``).

Inputs are video files or frame folders, folders of videos, and text files that list one
path a line (``#`` comments; relative paths from the list's folder); each ``clip.mkv``
becomes ``OUTPUT/clip.mkv`` (``--suffix`` to change the container; a frame folder gives
``.mp4``). Complete outputs are skipped, a failed input is reported and the rest go on.

Under ``torchrun``, every rank runs the same batch. Rank 0 checks the inputs and plans
(creating the journal of every long one), and hands the plan and a token naming this run
to the others through a gloo process group. The work is then shared through claims in the
output folder (a file created exclusively per whole short video, per segment of a long
one, and per final join), so the folder must be on a file system every machine sees; a
rank takes the next unclaimed unit in order. The rank that finishes a video's last
segment joins it; rank 0 joins any left after all ranks are done. After torchrun restarts
the ranks (``--max-restarts``), the new run's token makes the dead run's claims void:
unfinished journals are resumed and finished outputs are skipped.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vidsr.data.frames import is_frame_file, natural_sort_key
from vidsr.errors import VidsrError
from vidsr.video.jobs import Engine, Job, JobOptions, new_token
from vidsr.video.messages import say, warn
from vidsr.video.pipeline import InputStoppedEarly, make_progress
from vidsr.video.safety import check_output_folder, remove_stale_partials
from vidsr.video.segments import claim
from vidsr.video.writer import IMAGE_SUFFIXES, VIDEO_SUFFIXES

# Files in a folder of videos that are taken as videos (the output suffixes and a few more).
INPUT_SUFFIXES = (*VIDEO_SUFFIXES, ".mpg", ".mpeg", ".m2ts", ".mts", ".flv", ".wmv", ".3gp", ".ogv", ".y4m", ".vob")
LIST_SUFFIXES = (".txt", ".list")
DEFAULT_BATCH_SUFFIX = ".mp4"  # for inputs (frame folders, .flv...) whose suffix is no output suffix
# (an image, .png .jpg ..., gives an image of its own suffix)
_GROUP_TIMEOUT = datetime.timedelta(days=7)  # ranks wait at the end for the slowest one


@dataclass(frozen=True)
class Item:
    """One input of a batch and its output."""

    source: Path
    target: Path


@dataclass
class Outcome:
    """What became of one item: ``done``, ``skipped`` or ``failed``."""

    source: str
    target: str
    status: str
    message: str = ""
    frames: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        if self.status == "done":
            return f"done     {self.source} -> {self.target} ({self.frames} frames, {self.seconds:.1f} s)"
        if self.status == "skipped":
            return f"skipped  {self.source}: {self.message}"
        message = self.message if self.message.startswith(self.source) else f"{self.source}: {self.message}"
        return f"FAILED   {message}"


def _is_video_folder(folder: Path) -> bool:
    """A folder of video files (and no frames): a batch, not a frame folder."""
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    return not any(is_frame_file(p) for p in files) and any(p.suffix.lower() in INPUT_SUFFIXES for p in files)


def _read_list(path: Path) -> list[Path]:
    sources = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            entry = Path(text).expanduser()
            sources.append(entry if entry.is_absolute() else path.parent / entry)
    if not sources:
        raise VidsrError(f"{path} lists no inputs")
    return sources


def collect_inputs(inputs: Sequence[str | Path]) -> tuple[list[Path], bool]:
    """The input paths, and whether they make a batch (several, a folder of videos, a list)."""
    sources: list[Path] = []
    batch = len(inputs) > 1
    for text in inputs:
        path = Path(text)
        if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            sources += _read_list(path)
            batch = True
        elif path.is_dir() and _is_video_folder(path):
            videos = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES]
            sources += sorted((p for p in videos if not p.name.startswith(".")), key=natural_sort_key)
            batch = True
        else:
            sources.append(path)
    return sources, batch


def batch_items(sources: Sequence[Path], output: Path, suffix: str | None = None, create: bool = True,
                note: Callable[[str], None] = warn) -> list[Item]:
    """``output/<name><suffix>`` for each source (default: its own suffix, where it is a video or
    image suffix); the folder is created when missing (``create``), once the batch is known to
    be valid. An input that is its own output (one in the output folder: the output of an earlier
    run, when a glob such as ``clips/*`` also matches ``clips/out``) is left out, with a ``note``;
    a batch of nothing else is an error."""
    if output.exists() and not output.is_dir():
        raise VidsrError(f"with several inputs, OUTPUT must be a folder ({output} is a file)")
    if suffix is not None:
        suffix = suffix if suffix.startswith(".") else f".{suffix}"
        if suffix.lower() not in VIDEO_SUFFIXES:
            raise VidsrError(f"--suffix must be one of {' '.join(VIDEO_SUFFIXES)}, not {suffix}")
    check_output_folder(output)
    targets = []
    for source in sources:
        keeps = source.is_file() and source.suffix.lower() in (*VIDEO_SUFFIXES, *IMAGE_SUFFIXES)
        own = source.suffix if keeps else DEFAULT_BATCH_SUFFIX
        targets.append(output / f"{source.stem if source.suffix else source.name}{suffix or own}")
    own_outputs = [source for source, target in zip(sources, targets, strict=True)
                   if source.resolve() == target.resolve()]  # fmt: skip
    if own_outputs and len(own_outputs) == len(sources):
        raise VidsrError(f"the inputs are in the output folder {output}: their outputs would replace them; "
                         "choose another OUTPUT")
    if own_outputs:
        listed = ", ".join(str(source) for source in own_outputs[:3]) + (" ..." if len(own_outputs) > 3 else "")
        note(f"left out {len(own_outputs)} input(s) that are their own output (the outputs of an earlier run?): "
             f"{listed}")
    items, seen = [], {}
    for source, target in zip(sources, targets, strict=True):
        if source in own_outputs:
            continue
        if target.name in seen:
            raise VidsrError(f"{seen[target.name]} and {source} would both be written to {target}; rename one")
        seen[target.name] = source
        items.append(Item(source, target))
    if create:  # (not before: a refused batch leaves no empty folder)
        output.mkdir(exist_ok=True)
    return items


@dataclass(frozen=True)
class Ranks:
    """This process's place among torchrun's processes (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    restarted: bool = False  # torchrun restarted the ranks after a failure
    local_world_size: int = 0  # ranks on this machine (0: not known)
    forked: bool = False  # the processes of --jobs (no torchrun, no restarts)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def device(self, device: str) -> str:
        """``cuda`` means this rank's GPU (``cuda:LOCAL_RANK``) under torchrun."""
        return f"cuda:{self.local_rank}" if self.enabled and device == "cuda" else device

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if not self.enabled:
            return value
        import torch.distributed as dist

        box = [value]
        with _peer_failures(self.forked):
            dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order (after every rank got here)."""
        if not self.enabled:
            return [value]
        import torch.distributed as dist

        values: list[Any] = [None] * self.world_size
        with _peer_failures(self.forked):
            dist.all_gather_object(values, value)
        return values


@contextlib.contextmanager
def _peer_failures(forked: bool = False) -> Iterator[None]:
    """A rank that died (gloo's "connection closed") as a one-line error on the others; for
    the processes of ``--jobs`` (``forked``), in their words, not torchrun's."""
    try:
        yield
    except RuntimeError as error:
        if forked:
            raise VidsrError("another process of --jobs stopped (killed?); the same command with --resume goes on "
                             "from the finished segments and videos") from None
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise VidsrError(
            f"another rank stopped ({reason[:200]}); torchrun restarts the ranks if --max-restarts allows, "
            "and they resume; otherwise the same command with --resume goes on from the finished segments"
        ) from None


def join_ranks() -> Ranks:
    """Join torchrun's processes (gloo: only small messages go through it); one process alone."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    ranks = Ranks(
        rank=int(os.environ.get("RANK", "0")), world_size=world_size,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        restarted=int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0,
        local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", "0")),
    )  # fmt: skip
    if ranks.enabled:
        import torch.distributed as dist

        if not dist.is_initialized():
            # torchrun's store outlives a restart: without a prefix of its own, a restarted
            # rank would read the dead run's gloo addresses and fail to connect.
            store, _, _ = next(dist.rendezvous("env://", ranks.rank, world_size, timeout=_GROUP_TIMEOUT))
            attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
            store = dist.PrefixStore(f"vidsr-upscale/attempt-{attempt}", store)
            dist.init_process_group("gloo", store=store, rank=ranks.rank, world_size=world_size,
                                    timeout=_GROUP_TIMEOUT)  # fmt: skip
    return ranks


def own_cpus(local_rank: int, local_world_size: int, threads: int, usable: Sequence[int]) -> set[int] | None:
    """The ``threads`` CPUs of local rank ``local_rank`` when every rank on this machine fits on
    CPUs of its own (``local_world_size * threads <= len(usable)``); None when they do not."""
    if threads < 1 or local_world_size * threads > len(usable):
        return None
    ordered = sorted(usable)
    return set(ordered[local_rank * threads : (local_rank + 1) * threads])


def hold_to_own_cpus(ranks: Ranks, threads: int | None, device: str) -> set[int] | None:
    """Under torchrun or ``--jobs`` on the CPU with ``--threads T``: hold this rank to T CPUs of its own.

    One process keeps more cores busy than its model threads (decoding and encoding
    overlap the model), so unheld ranks crowd each other and the scheduler moves them
    between cores. Held to disjoint CPUs, 2 ranks on 2 cores finished a 4-video batch in
    33.5 / 33.1 / 37.7 / 32.7 s against 37.0 / 35.0 / 36.7 / 35.3 s unheld (README): a small
    gain, inside the run-to-run noise of this machine. Only when all of this machine's ranks fit
    (``LOCAL_WORLD_SIZE * T`` CPUs or fewer); ``VIDSR_HOLD_CPUS=0`` leaves every rank to the
    scheduler. Returns the CPUs, or None when left alone.
    """
    if not ranks.enabled or not threads or device != "cpu" or not hasattr(os, "sched_setaffinity"):
        return None
    if os.environ.get("VIDSR_HOLD_CPUS", "1") == "0":
        return None
    cpus = own_cpus(ranks.local_rank, ranks.local_world_size, threads, sorted(os.sched_getaffinity(0)))
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    return cpus


def run_as_jobs(jobs: int, work: Callable[[Ranks], int]) -> int:
    """``vidsr upscale --jobs N``: ``work`` in N processes of this machine, without torchrun.

    This process forks N-1 copies of itself, which join it in a gloo group through a file
    store in a temporary folder, and every process runs ``work`` with its :class:`Ranks`
    (this one as rank 0): the batch is then shared exactly as under torchrun. Forked
    after the imports and before any model is built, the copies start at once, where
    torchrun's launcher and its ranks each import torch first (2-3 s more on 2 cores, README).
    There are no restarts: after a failure, the same command with ``--resume`` goes on.
    Returns rank 0's exit status, or 1 when a copy failed.
    """
    if jobs < 2:
        raise ValueError("run_as_jobs is for 2 or more jobs")
    folder = tempfile.mkdtemp(prefix="vidsr-jobs-")
    store = os.path.join(folder, "store")
    children: list[int] = []
    try:
        for rank in range(1, jobs):
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # a copy: never returns into the caller
                os._exit(_run_forked(rank, jobs, store, work))
            children.append(pid)
        code = work(_join_file_store(0, jobs, store))
    except BaseException:
        for pid in children:  # (they would wait for rank 0 in the group's next step)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        raise
    finally:
        statuses = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
        shutil.rmtree(folder, ignore_errors=True)
        for rank, status in enumerate(statuses, start=1):
            if status < 0:  # killed from outside (those stopped by rank 0 exit 130)
                warn(f"job {rank} was killed ({signal.Signals(-status).name}); the same command with --resume "
                     "goes on from the finished segments")  # fmt: skip
    return code or int(any(statuses))


def _run_forked(rank: int, jobs: int, store: str, work: Callable[[Ranks], int]) -> int:
    """A forked copy's exit status: ``work``'s, or 1 (with the error) when it raised."""
    code = 1
    try:
        code = work(_join_file_store(rank, jobs, store))
    except VidsrError as error:
        print(f"vidsr: [rank {rank}] error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else 1
    except BaseException:  # (anything else: its traceback, as an uncaught error shows it)
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def _join_file_store(rank: int, jobs: int, store: str) -> Ranks:
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.FileStore(store, jobs), rank=rank, world_size=jobs,
                            timeout=_GROUP_TIMEOUT)  # fmt: skip
    return Ranks(rank=rank, world_size=jobs, local_rank=rank, local_world_size=jobs, forked=True)


def leave_ranks(ranks: Ranks) -> None:
    if ranks.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def distributed() -> bool:
    """True when launched by torchrun with several processes."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _tidy(job: Job) -> None:
    """Remove what killed runs left beside a complete output (before any rank starts work)."""
    remove_stale_partials(job.target)
    job.work.remove_if_abandoned()
    for stale in job.target.parent.glob(f".{job.target.name}.vidsr-claim-*"):
        with contextlib.suppress(OSError):
            stale.unlink()


def engines_by_weights(
    make_engine: Callable[..., Engine], device: str, weights_of: Callable[[Path], str | None] | None = None
) -> Callable[[Path], Engine]:
    """``engine_for(source)``: ``make_engine(device)`` for every source, or with ``weights_of``
    (each video's own weights file: its denoise strength) ``make_engine(device, weights)``,
    one engine per distinct file."""
    engines: dict[str | None, Engine] = {}

    def engine_for(source: Path) -> Engine:
        weights = weights_of(source) if weights_of is not None else None
        if weights not in engines:
            engines[weights] = make_engine(device, weights) if weights_of is not None else make_engine(device)
        return engines[weights]

    return engine_for


class BatchRun:
    """Upscales ``items`` in this process and, under torchrun, its sibling ranks.

    ``make_engine(device)`` gives the model that every item uses; with ``weights_of`` (a
    source's weights file), items get ``make_engine(device, weights_of(source))``, one engine
    per distinct file (the denoise strength of each video, from its quantiser).
    """

    def __init__(
        self,
        items: Sequence[Item],
        make_engine: Callable[[str], Engine],
        options: JobOptions,
        *,
        device: str = "cpu",
        resume: bool = False,
        ranks: Ranks | None = None,
        on_warning: Callable[[str], None] = warn,
        weights_of: Callable[[Path], str | None] | None = None,
    ) -> None:
        self.items = list(items)
        self.ranks = ranks or Ranks()
        self.options = replace(options, quiet=True) if self.ranks.enabled else options  # no bars from N ranks
        self.quiet = options.quiet
        self.resume = resume
        engine_for = engines_by_weights(make_engine, self.ranks.device(device), weights_of)
        self.token = self.ranks.broadcast(new_token() if self.ranks.rank == 0 else None)
        self.jobs = [
            Job(item.source, item.target, engine_for(item.source), self.options, token=self.token,
                on_warning=on_warning)
            for item in self.items
        ]
        self.outcomes: dict[int, Outcome] = {}

    def say(self, message: str) -> None:
        """A line as work is done, under torchrun (one process shows progress bars instead)."""
        if self.ranks.enabled and not self.quiet:
            say(f"[rank {self.ranks.rank}] {message}")

    def _plan(self, index: int) -> tuple[str, str]:
        """``(mode, message)`` of one item: single, segments, skipped or failed (rank 0)."""
        job, options = self.jobs[index], self.options
        if job.target.exists() and not job.work.exists() and not (options.force and not self.ranks.restarted):
            _tidy(job)
            return "skipped", f"{job.target} exists (complete); --force replaces it"
        try:
            return job.prepare(resume=(self.resume or self.ranks.restarted) and job.work.exists()), ""
        except VidsrError as error:
            return "failed", str(error)
        finally:  # (held again while its video is worked on: a batch of thousands holds a few at a time)
            job.release()

    def run(self) -> list[Outcome]:
        """Do this rank's share; on rank 0, every item's outcome (other ranks: their own)."""
        try:
            return self._run()
        finally:
            for job in self.jobs:  # the outputs' run locks (the last process of the run deletes them)
                job.release()

    def _run(self) -> list[Outcome]:
        plan = self.ranks.broadcast([self._plan(i) for i in range(len(self.jobs))] if self.ranks.rank == 0 else None)
        for index, (mode, message) in enumerate(plan):
            if mode in ("skipped", "failed"):
                if self.ranks.rank == 0:
                    self._record(index, mode, message)
                continue
            try:
                if mode == "single":
                    self._single(index)
                else:
                    self._segments(index)
            except InputStoppedEarly as error:
                self._record(index, "failed", str(error), error.result.frames)
            except (VidsrError, OSError, RuntimeError, ValueError) as error:
                self._record(index, "failed", str(error) or type(error).__name__)
        gathered = self.ranks.gather(self.outcomes)  # (every rank is done with its units here)
        if self.ranks.rank != 0:
            return list(self.outcomes.values())
        self._drop_claims()
        for outcomes in gathered:
            self.outcomes.update({i: o for i, o in outcomes.items() if i not in self.outcomes or o.status == "done"})
        self._join_leftovers(plan)
        return [self.outcomes.get(i) or Outcome(str(item.source), str(item.target), "failed", "not done")
                for i, item in enumerate(self.items)]  # fmt: skip

    def _record(self, index: int, status: str, message: str = "", frames: int = 0, seconds: float = 0.0) -> None:
        item = self.items[index]
        outcome = Outcome(str(item.source), str(item.target), status, message, frames, seconds)
        self.outcomes[index] = outcome
        if status != "skipped":
            self.say(outcome.line())

    def _claim_marker(self, index: int) -> Path:
        target = self.jobs[index].target
        return target.parent / f".{target.name}.vidsr-claim-{self.token}"

    def _single(self, index: int) -> None:
        """A short video, whole, by the rank that claims it.

        The claim stays until every rank is done (:meth:`_drop_claims`): removed earlier, a
        rank that comes to this video later would claim it again and redo it (or, without
        ``--force``, report it failed because the output exists)."""
        job = self.jobs[index]
        if not claim(self._claim_marker(index)):
            return
        try:
            job.hold()
            if job.mode is None:  # prepared by rank 0; here on another rank
                job.prepare()
            result = job.run_single()
            self._record(index, "done", frames=result.frames, seconds=result.seconds)
        finally:
            mine = self._claim_marker(index)
            for stale in job.target.parent.glob(f".{job.target.name}.vidsr-claim-*"):
                if stale != mine or not self.ranks.enabled:  # (one process: nobody comes later)
                    with contextlib.suppress(OSError):
                        stale.unlink()

    def _drop_claims(self) -> None:
        """Rank 0, once every rank is done: remove this run's claims of whole videos."""
        for index in range(len(self.jobs)):
            with contextlib.suppress(OSError):
                self._claim_marker(index).unlink()

    def _segments(self, index: int) -> None:
        """The unclaimed segments of a long video, then its join if they are all done."""
        job = self.jobs[index]
        job.hold()
        if job.mode is None:
            try:
                job.prepare(resume=True)
            except VidsrError:
                if self._finished_elsewhere(job):
                    return
                raise
        started = time.perf_counter()
        total = len(job.spans)
        try:
            for segment in job.pending():
                if job.work.claim(f"seg-{segment:06d}"):
                    with make_progress(None, f"{job.label} [{segment + 1}/{total}]", self.options.quiet) as bar:
                        record = job.run_segment(segment, bar)
                    self.say(f"{job.label}: segment {segment + 1}/{total} done ({record['frames']} frames, "
                             f"{record['seconds']:.1f} s)")  # fmt: skip
                    if record["last"]:
                        break
            self._join(index, started)
        finally:
            job.release()

    @staticmethod
    def _finished_elsewhere(job: Job) -> bool:
        """True when another rank joined ``job`` (and removed its folder, or is about to)
        before this rank came to it: then there is nothing left here to do or to report."""
        return not job.work.exists() or (job.target.exists() and job.work.claimed("final"))

    def _join(self, index: int, started: float | None = None) -> None:
        job = self.jobs[index]
        if job.work.exists() and job.completed() is not None and job.work.claim("final"):
            try:
                result = job.assemble(started)
            except InputStoppedEarly as error:
                self._record(index, "failed", str(error), error.result.frames)
                return
            self._record(index, "done", frames=result.frames, seconds=result.seconds)

    def _join_leftovers(self, plan: list[tuple[str, str]]) -> None:
        """Rank 0, at the end: join long videos whose segments are all done but not joined."""
        for index, (mode, _) in enumerate(plan):
            outcome = self.outcomes.get(index)
            if mode == "segments" and outcome is None:
                try:
                    self.jobs[index].hold()
                    self._join(index)
                except (VidsrError, OSError) as error:
                    self._record(index, "failed", str(error))
                finally:
                    self.jobs[index].release()
