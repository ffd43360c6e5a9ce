/* The engine's compiled core: the Dysta simulator's loop with a job-picking rule (PREMA,
 * Planaria, SDRM3, the Dysta key) decided in C, for rtmm_opt.engine.core (see its docstring
 * and docs/engine.md, "The compiled core").
 *
 * This file mirrors, operation for operation, what the pure-Python path computes:
 * Engine._advance_dysta with DystaLoop.admit (rtmm_opt/engine/loop.py, dysta_compat.py) and
 * the policies' prepare/select (rtmm_opt/schedulers/prema.py, planaria.py, sdrm3.py,
 * base.negative_maximum_fold) and the Dysta key (dysta.py, _DystaKey.job_keys). The Python side checks that the instance is one it describes
 * (one accelerator, every job a chain of one variant without early exit, durations not
 * negative) and that every integer it divides or multiplies stays below 2**53, so that each
 * int / int true division of Python is the correctly rounded division of two exact doubles
 * here. It is built with -ffp-contract=off: no fused multiply-add may change a rounding.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef RTMM_CORE_SOURCE
#define RTMM_CORE_SOURCE "" /* setup.py defines it: the digest of this file */
#endif

enum { RULE_PREMA = 0, RULE_PLANARIA = 1, RULE_SDRM3 = 2, RULE_DYSTA = 3 };

typedef struct {
    int rule;
    double alpha;   /* SDRM3's weight of fairness */
    double seconds; /* Planaria and Dysta: seconds per time unit */
    double beta;    /* Dysta's weight of urgency and penalty */
    int gamma;      /* Dysta: the sparsity monitor's gamma is on */
    Py_ssize_t n_jobs, n_ops;
    const int64_t *release, *deadline, *priority, *offsets, *arrivals, *duration, *per_op;
    const double *sparsity, *sparsity_mean; /* per op, realised and mean (Dysta's gamma) */
    int64_t *op_start, *op_end;
    /* per job */
    int64_t *next_op, *remaining, *total, *last_progress;
    double *token, *score, *ratio_sum; /* ratio_sum: Dysta's gamma, with ratio_count */
    int64_t *ratio_count;
    char *seen, *fresh;
    /* the queue: released, unfinished jobs in the order they were admitted */
    int64_t *active;
    Py_ssize_t n_active;
} Loop;

/* base.negative_maximum_fold over the active jobs, with their scores in loop->score */
static int64_t negative_maximum_fold(const Loop *loop)
{
    int64_t pick = -1;
    double top = -1.0;
    for (Py_ssize_t i = 0; i < loop->n_active; i++) {
        int64_t job = loop->active[i];
        double value = loop->score[job];
        if ((top < 0 || top <= value) && top != value) {
            pick = job;
            top = value;
        }
    }
    return pick >= 0 ? pick : loop->active[0];
}

/* Prema.prepare, Prema.threshold and Prema.select */
static int64_t pick_prema(Loop *loop, int64_t now)
{
    double top = 0.0;
    for (Py_ssize_t i = 0; i < loop->n_active; i++) {
        int64_t job = loop->active[i];
        if (!loop->seen[job]) {
            loop->token[job] = (double)loop->priority[job];
            loop->seen[job] = 1;
            loop->fresh[job] = 1;
        } else {
            int64_t waited = now - loop->last_progress[job];
            int64_t isolated = loop->total[job] > 1 ? loop->total[job] : 1;
            loop->token[job] =
                loop->token[job] + (double)(loop->priority[job] * waited) / (double)isolated;
            loop->fresh[job] = 0;
        }
    }
    for (Py_ssize_t i = 0; i < loop->n_active; i++) {
        int64_t job = loop->active[i];
        if (!loop->fresh[job] && loop->token[job] > top)
            top = loop->token[job];
    }
    double theta = top >= 9.0 ? 9.0 : top >= 3.0 ? 3.0 : 1.0;
    int candidates = 0;
    for (Py_ssize_t i = 0; i < loop->n_active; i++)
        if (loop->token[loop->active[i]] >= theta) {
            candidates = 1;
            break;
        }
    int64_t pick = -1;
    for (Py_ssize_t i = 0; i < loop->n_active; i++) {
        int64_t job = loop->active[i];
        if (candidates && !(loop->token[job] >= theta))
            continue;
        if (pick < 0 || loop->remaining[job] < loop->remaining[pick])
            pick = job; /* min() keeps the first of equal keys */
    }
    return pick;
}

/* Planaria.prepare and select */
static int64_t pick_planaria(Loop *loop, int64_t now)
{
    for (Py_ssize_t i = 0; i < loop->n_active; i++) {
        int64_t job = loop->active[i];
        int64_t left = loop->deadline[job] - now;
        loop->score[job] = left ? (double)loop->priority[job] / ((double)left * loop->seconds * 1.0)
                                : INFINITY;
    }
    return negative_maximum_fold(loop);
}

/* SDRM3.prepare and select (no op runs at a decision point of this loop: waited is
 * now - last progress for every job) */
static int64_t pick_sdrm3(Loop *loop, int64_t now)
{
    for (Py_ssize_t i = 0; i < loop->n_active; i++) {
        int64_t job = loop->active[i];
        int64_t left = loop->deadline[job] - now;
        double urgency = left ? (double)loop->remaining[job] / (double)left : 1.0;
        if (urgency > 1.0)
            urgency = 1.0;
        int64_t waited = now - loop->last_progress[job];
        int64_t divisor = loop->per_op[loop->next_op[job]];
        if (divisor < 1)
            divisor = 1;
        loop->score[job] = urgency + loop->alpha * ((double)waited / (double)divisor);
    }
    return negative_maximum_fold(loop);
}

/* _DystaKey.job_keys: the key of one active job among n_active */
static double dysta_key(const Loop *loop, int64_t job, int64_t now, double n_active)
{
    double scale = loop->seconds;
    double remaining_s = (double)loop->remaining[job] * scale;
    double total_s = (double)loop->total[job] * scale;
    double predicted = remaining_s;
    if (loop->gamma) {
        int64_t count = loop->ratio_count[job];
        predicted = (count ? loop->ratio_sum[job] / (double)count : 1.0) * remaining_s;
    }
    double urgency = (double)(loop->deadline[job] - now) * scale - predicted;
    if (urgency < 0.0)
        urgency = 0.0;
    double idle_s = (double)(now - loop->last_progress[job]) * scale;
    double penalty = total_s > 0.0 ? (idle_s / total_s) / n_active : 0.0;
    return predicted + loop->beta * (urgency + penalty);
}

/* decide's pick: the smallest key, the first of equal ones (a stable sort's head) */
static int64_t pick_dysta(Loop *loop, int64_t now)
{
    double best = 0.0, n_active = (double)loop->n_active;
    int64_t pick = -1;
    for (Py_ssize_t i = 0; i < loop->n_active; i++) {
        int64_t job = loop->active[i];
        double key = dysta_key(loop, job, now, n_active);
        if (pick < 0 || key < best) {
            pick = job;
            best = key;
        }
    }
    return pick;
}

/* _DystaKey._add_ratio: the density ratio of a finished op joins gamma's running mean */
static void add_ratio(Loop *loop, int64_t job, int64_t op)
{
    double density_mean = 1.0 - loop->sparsity_mean[op];
    double ratio = density_mean != 0 ? (1.0 - loop->sparsity[op]) / density_mean : NAN;
    if (isfinite(ratio)) {
        loop->ratio_sum[job] += ratio;
        loop->ratio_count[job] += 1;
    }
}

static void admit(Loop *loop, int64_t job)
{
    loop->active[loop->n_active++] = job;
    loop->last_progress[job] = loop->release[job];
    loop->remaining[job] = loop->total[job];
    loop->next_op[job] = loop->offsets[job];
    loop->ratio_sum[job] = 0.0;
    loop->ratio_count[job] = 0;
}

/* Per job, its total estimated work (RemainingWork.total, _DystaKey's T_est) */
static void job_totals(Loop *loop)
{
    for (Py_ssize_t job = 0; job < loop->n_jobs; job++) {
        int64_t work = 0;
        for (int64_t op = loop->offsets[job]; op < loop->offsets[job + 1]; op++)
            work += loop->per_op[op];
        loop->total[job] = work;
    }
}

/* The whole replay; returns the number of decision points. */
static Py_ssize_t run(Loop *loop, int64_t *clock)
{
    Py_ssize_t k = 0, decisions = 0;
    int64_t now = 0;
    int ran_op = 0;
    for (;;) {
        /* DystaLoop.admit */
        if (k < loop->n_jobs) {
            if (loop->n_active == 0) {
                int64_t job = loop->arrivals[k++];
                int64_t release = loop->release[job];
                now = ran_op || release > now ? release : now;
                admit(loop, job);
            } else {
                while (k < loop->n_jobs && loop->release[loop->arrivals[k]] < now)
                    admit(loop, loop->arrivals[k++]);
            }
        }
        if (loop->n_active == 0)
            break;
        decisions++;
        int64_t job;
        switch (loop->rule) {
        case RULE_PREMA:
            job = pick_prema(loop, now);
            break;
        case RULE_PLANARIA:
            job = pick_planaria(loop, now);
            break;
        case RULE_SDRM3:
            job = pick_sdrm3(loop, now);
            break;
        default:
            job = pick_dysta(loop, now);
        }
        /* the job's next op runs to its end (Engine._dispatch, _complete) */
        int64_t op = loop->next_op[job];
        loop->op_start[op] = now;
        now += loop->duration[op];
        loop->op_end[op] = now;
        ran_op = 1;
        loop->last_progress[job] = now;
        loop->remaining[job] -= loop->per_op[op];
        if (loop->gamma)
            add_ratio(loop, job, op);
        if (op + 1 < loop->offsets[job + 1]) {
            loop->next_op[job] = op + 1;
        } else { /* the job is done: it leaves the queue */
            Py_ssize_t i = 0;
            while (loop->active[i] != job)
                i++;
            memmove(loop->active + i, loop->active + i + 1,
                    (size_t)(loop->n_active - i - 1) * sizeof(int64_t));
            loop->n_active--;
        }
    }
    *clock = now;
    return decisions;
}

static int get_buffer(PyObject *object, Py_buffer *view, Py_ssize_t length, int writable,
                      const char *name)
{
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) <
        0)
        return -1;
    if (view->itemsize != 8 || view->len != length * 8) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd 8-byte items", name, length);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Zeroed memory for one replay, freed together */
typedef struct {
    void *blocks[40];
    int count;
} Arena;

static void *arena_alloc(Arena *arena, Py_ssize_t count, size_t size)
{
    void *block = PyMem_Calloc(count > 0 ? (size_t)count : 1, size);
    if (block == NULL || arena->count == 40) {
        PyMem_Free(block);
        PyErr_NoMemory();
        return NULL;
    }
    arena->blocks[arena->count++] = block;
    return block;
}

static int check_offsets(const int64_t *offsets, Py_ssize_t n, Py_ssize_t limit, const char *name)
{
    if (offsets[0] != 0) {
        PyErr_Format(PyExc_ValueError, "%s must start at 0", name);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (offsets[i + 1] < offsets[i] || offsets[i + 1] > limit) {
            PyErr_Format(PyExc_ValueError, "%s is not a list of offsets", name);
            return -1;
        }
    return 0;
}

static int check_range(const int64_t *values, Py_ssize_t n, Py_ssize_t limit, const char *name)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (values[i] < 0 || values[i] >= limit) {
            PyErr_Format(PyExc_ValueError, "%s[%zd] is out of range", name, i);
            return -1;
        }
    return 0;
}

/* -- the engine's event loop (loop.py: Engine._next_point, step, _apply, _dispatch, _complete,
 * _release, _finish_job, _drop) for jobs of one variant without early exits, without
 * contention or context switches; the notices go to a policy's decide, which fills a
 * decision: the Dysta key (dysta.py, _DystaKey.decide) or the XRBench harness replay
 * (xrbench.py, _HarnessReplay and _Service). -------------------------------------------------
 *
 * The harness counts time in float32 milliseconds; C's float is IEEE single precision and,
 * with FLT_EVAL_METHOD 0, every float expression is rounded to it as numpy's float32 scalars
 * are. Elsewhere the harness replay is declined. */

enum { COMPLETION = 0, RELEASE = 1, WAKE = 2 };                     /* EventClass */
enum { PENDING = 0, ACTIVE = 1, DONE = 2, DROPPED = 3 };            /* job states */
enum { WAITING = 0, READY = 1, RUNNING = 2, FINISHED = 3, SKIPPED = 4 }; /* op states */
enum { N_RELEASED, N_OP_DONE, N_JOB_DONE, N_JOB_DROPPED, N_OP_READY }; /* notice kinds */
enum { POINT = 1, END = 0, STALLED = -1, ILLEGAL = -2, NO_MEMORY = -3, RAISED = -4 };
enum { POLICY_DYSTA, POLICY_HARNESS, POLICY_DREAM, POLICY_FCFS, POLICY_EDF };
#define STAGNATION_LIMIT 100000 /* engine.contract.STAGNATION_LIMIT */

typedef struct {
    int64_t time, event_class, sequence, item;
} Event;

typedef struct {
    int64_t frame, job;
} Entry;

typedef struct { /* a ready-queue entry of FCFS and EDF: (key, key2, job, op) */
    int64_t key, key2, job, op;
} Entry4;

typedef struct { /* a sorted list in a region of its own: items [head, end) */
    Entry *items;
    Py_ssize_t head, end;
} Sorted;

typedef struct {
    int policy;
    Py_ssize_t n_jobs, n_ops, n_acc;
    /* the instance */
    const int64_t *release, *offsets, *n_upstream, *down_offsets, *downs, *op_job, *n_preds;
    const int64_t *succ_offsets, *succs, *durations;
    /* the engine */
    int64_t now, sequence;
    Event *heap;
    Py_ssize_t heap_size, heap_capacity, decisions, dispatches;
    Py_ssize_t stagnant; /* decisions in a row with only wake-ups and nothing decided */
    int broken;          /* the policy took a step the stepped replay would fail on */
    char *job_state, *op_state;
    int64_t *upstream_left, *todo, *preds_left, *running, *op_acc, *op_start, *op_end;
    int64_t *job_visible, *job_completion, *job_drop_time, *job_status, *last_progress, *stack;
    int64_t *active; /* released, unfinished jobs in the order they were released */
    Py_ssize_t n_active;
    int64_t *wakes; /* pending wake-up times */
    Py_ssize_t n_wakes, wake_capacity;
    int64_t *notices; /* (kind, item) pairs since the last decision */
    Py_ssize_t n_notices, notice_capacity;
    /* a decision */
    int64_t *dispatch_op, *dispatch_acc, *drops, wake_at;
    Py_ssize_t n_dispatches, n_drops;
    int has_wake;
    /* a policy's ready, undispatched ops per job, in the order they became ready */
    int64_t *ready_head, *ready_tail, *ready_next, *ready_prev;
    /* the Dysta key: its per-job sums in key (the queue and last progress are the engine's) */
    Loop key;
    const int64_t *predicted;
    char *tracked; /* per job: released, not yet done or dropped (in the key's sums) */
    int64_t *order, *idle;
    double *keys;
    /* the harness replay: _Service */
    const int64_t *latency, *job_task, *job_frame, *task_order, *up_offsets, *ups;
    Py_ssize_t n_tasks, n_free;
    int64_t *owner, *home, *free_accs;
    char *gone, *done;
    /* the harness replay: _HarnessReplay */
    const float *release_ms, *deadline_ms;
    double unit_ns;
    int drops_allowed, has_tick, has_next, has_last;
    float tick, next_event, last_event;
    Sorted *pending, *queues;
    int64_t *completions, *run_job, base_frame;
    float *run_completion;
    /* DREAM (dream.py, Dream): its per-op costs and per-job rests, the jobs' running ops */
    const double *op_latency, *op_energy, *period; /* _op_latency, _op_energy; per job, tau */
    const int64_t *op_energy_nj, *deadline;        /* static.op_energy; per job */
    double epsilon, lam, alpha, beta;
    int proactive_drop;
    double *rest_latency, *rest_energy, *scores, *cell_latency; /* per job or row, per acc */
    int64_t *flight_end, *flight_head, *flight_next, *flight_prev, *last_end, *candidates;
    char *in_flight, *charged, *has_last_end, *is_idle;
    /* the weight tuner's open window; on_window (Python) closes one and gives the weights */
    int64_t window, window_start, energy_nj, ended, missed;
    PyObject *on_window;
    PyThreadState *thread; /* saved while the replay runs without the GIL */
    int failed;            /* on_window raised: the exception is set */
    /* FCFS and EDF (base.ReadyHeapPolicy): ready ops by (key, key2, job, op), per job its key */
    Entry4 *queue, *skipped;
    Py_ssize_t queue_size, queue_capacity, skipped_capacity;
    int64_t *job_key, *job_key2;
} Replay;

/* Grow a block of *capacity items of size bytes to hold one more; -1 without memory. The
 * replay runs without the GIL, so the blocks come from the raw domain (PyMem_Raw*), which
 * needs no GIL, and are freed by engine_free. */
static int grow(void **block, Py_ssize_t *capacity, Py_ssize_t used, size_t size)
{
    if (used < *capacity)
        return 0;
    Py_ssize_t larger = 2 * *capacity + 16;
    void *grown = PyMem_RawRealloc(*block, (size_t)larger * size);
    if (grown == NULL)
        return -1;
    *block = grown;
    *capacity = larger;
    return 0;
}

static int event_before(const Event *a, const Event *b)
{
    if (a->time != b->time)
        return a->time < b->time;
    if (a->event_class != b->event_class)
        return a->event_class < b->event_class;
    return a->sequence < b->sequence;
}

/* A binary min-heap of TYPE, ordered by BEFORE, in a block grown by grow(): NAME_push adds an
 * item (-1 without memory), NAME_pop takes the smallest off (heapq's heappush and heappop) */
#define DEFINE_HEAP(NAME, TYPE, BEFORE)                                                        \
    static int NAME##_push(TYPE **items, Py_ssize_t *size, Py_ssize_t *capacity, TYPE item)    \
    {                                                                                          \
        if (grow((void **)items, capacity, *size, sizeof(TYPE)) < 0)                           \
            return -1;                                                                         \
        TYPE *heap = *items;                                                                   \
        Py_ssize_t i = (*size)++;                                                              \
        while (i > 0) {                                                                        \
            Py_ssize_t parent = (i - 1) / 2;                                                   \
            if (!BEFORE(&item, &heap[parent]))                                                 \
                break;                                                                         \
            heap[i] = heap[parent];                                                            \
            i = parent;                                                                        \
        }                                                                                      \
        heap[i] = item;                                                                        \
        return 0;                                                                              \
    }                                                                                          \
    static TYPE NAME##_pop(TYPE *heap, Py_ssize_t *size)                                       \
    {                                                                                          \
        TYPE top = heap[0], last = heap[--*size];                                              \
        Py_ssize_t i = 0, n = *size;                                                           \
        for (;;) {                                                                             \
            Py_ssize_t child = 2 * i + 1;                                                      \
            if (child >= n)                                                                    \
                break;                                                                         \
            if (child + 1 < n && BEFORE(&heap[child + 1], &heap[child]))                       \
                child++;                                                                       \
            if (!BEFORE(&heap[child], &last))                                                  \
                break;                                                                         \
            heap[i] = heap[child];                                                             \
            i = child;                                                                         \
        }                                                                                      \
        if (n > 0)                                                                             \
            heap[i] = last;                                                                    \
        return top;                                                                            \
    }

DEFINE_HEAP(events, Event, event_before)

static int h_push(Replay *h, int64_t time, int64_t event_class, int64_t item)
{
    Event event = {time, event_class, ++h->sequence, item};
    return events_push(&h->heap, &h->heap_size, &h->heap_capacity, event);
}

static Event h_pop(Replay *h) { return events_pop(h->heap, &h->heap_size); }

static int notice(Replay *h, int64_t kind, int64_t item)
{
    if (grow((void **)&h->notices, &h->notice_capacity, h->n_notices, 2 * sizeof(int64_t)) < 0)
        return -1;
    h->notices[2 * h->n_notices] = kind;
    h->notices[2 * h->n_notices + 1] = item;
    h->n_notices++;
    return 0;
}

static void leave_queue(Replay *h, int64_t job)
{
    Py_ssize_t i = 0;
    while (h->active[i] != job)
        i++;
    memmove(h->active + i, h->active + i + 1, (size_t)(h->n_active - i - 1) * sizeof(int64_t));
    h->n_active--;
}

/* Engine._release and _open_variant */
static int h_release(Replay *h, int64_t job, int64_t time)
{
    if (h->job_state[job] != PENDING)
        return 0;
    h->job_state[job] = ACTIVE;
    h->job_visible[job] = time;
    h->last_progress[job] = time;
    h->active[h->n_active++] = job;
    if (notice(h, N_RELEASED, job) < 0)
        return -1;
    h->todo[job] = h->offsets[job + 1] - h->offsets[job];
    for (int64_t op = h->offsets[job]; op < h->offsets[job + 1]; op++)
        if (h->preds_left[op] == 0 && h->op_state[op] == WAITING) {
            h->op_state[op] = READY;
            if (notice(h, N_OP_READY, op) < 0)
                return -1;
        }
    return 0;
}

/* Engine._finish_job: cascaded jobs whose last upstream this was are released now, or at
 * their release if that is later */
static int h_finish(Replay *h, int64_t job, int64_t time)
{
    h->job_state[job] = DONE;
    h->job_completion[job] = time;
    leave_queue(h, job);
    if (notice(h, N_JOB_DONE, job) < 0)
        return -1;
    for (int64_t d = h->down_offsets[job]; d < h->down_offsets[job + 1]; d++) {
        int64_t down = h->downs[d];
        if (--h->upstream_left[down] == 0 && h->job_state[down] == PENDING) {
            if (h->release[down] <= time) {
                if (h_release(h, down, time) < 0)
                    return -1;
            } else if (h_push(h, h->release[down], RELEASE, down) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* Engine._complete */
static int h_complete(Replay *h, int64_t op, int64_t time)
{
    h->running[h->op_acc[op]] = -1;
    h->op_end[op] = time;
    h->op_state[op] = FINISHED;
    if (notice(h, N_OP_DONE, op) < 0)
        return -1;
    int64_t job = h->op_job[op];
    if (h->job_state[job] != ACTIVE)
        return 0; /* dropped while this op ran */
    h->last_progress[job] = time;
    if (--h->todo[job] == 0)
        return h_finish(h, job, time);
    for (int64_t s = h->succ_offsets[op]; s < h->succ_offsets[op + 1]; s++) {
        int64_t succ = h->succs[s];
        if (--h->preds_left[succ] == 0 && h->op_state[succ] == WAITING) {
            h->op_state[succ] = READY;
            if (notice(h, N_OP_READY, succ) < 0)
                return -1;
        }
    }
    return 0;
}

/* Engine._drop: the job and, depth first from the last, its cascaded jobs */
static int h_drop(Replay *h, int64_t job, int64_t time)
{
    Py_ssize_t depth = 0;
    h->stack[depth++] = job;
    while (depth > 0) {
        int64_t current = h->stack[--depth];
        char state = h->job_state[current];
        if (state == DONE || state == DROPPED)
            continue;
        h->job_state[current] = DROPPED;
        h->job_drop_time[current] = time > h->release[current] ? time : h->release[current];
        if (state == ACTIVE)
            leave_queue(h, current);
        for (int64_t op = h->offsets[current]; op < h->offsets[current + 1]; op++)
            if (h->op_state[op] == READY || h->op_state[op] == WAITING)
                h->op_state[op] = SKIPPED;
        if (notice(h, N_JOB_DROPPED, current) < 0)
            return -1;
        for (int64_t d = h->down_offsets[current]; d < h->down_offsets[current + 1]; d++)
            h->stack[depth++] = h->downs[d];
    }
    return 0;
}

static int any_idle(const Replay *h)
{
    for (Py_ssize_t acc = 0; acc < h->n_acc; acc++)
        if (h->running[acc] < 0)
            return 1;
    return 0;
}

/* Engine._next_point: POINT, END, STALLED or NO_MEMORY */
static int h_next_point(Replay *h)
{
    for (;;) {
        if (h->heap_size == 0)
            return h->n_active ? STALLED : END;
        int64_t time = h->heap[0].time;
        h->now = time;
        int woken = 0;
        while (h->heap_size > 0 && h->heap[0].time == time) {
            Event event = h_pop(h);
            int failed = 0;
            if (event.event_class == COMPLETION) {
                h->stagnant = 0;
                failed = h_complete(h, event.item, time);
            } else if (event.event_class == RELEASE) {
                h->stagnant = 0;
                failed = h_release(h, event.item, time);
            } else {
                for (Py_ssize_t i = 0; i < h->n_wakes; i++)
                    if (h->wakes[i] == time) {
                        h->wakes[i] = h->wakes[--h->n_wakes];
                        break;
                    }
                woken = 1;
            }
            if (failed)
                return NO_MEMORY;
        }
        if (h->n_active && (woken || any_idle(h)))
            return POINT;
    }
}

/* Engine.step and _apply: 1 if the replay decides again at once (drops changed the ready set,
 * nothing was dispatched, a job is active and an accelerator idle), 0 if it moves on,
 * ILLEGAL for what the stepped replay rejects, NO_MEMORY */
static int h_apply(Replay *h)
{
    h->decisions++;
    h->n_notices = 0;
    if (h->broken)
        return ILLEGAL;
    if (h->n_dispatches || h->n_drops)
        h->stagnant = 0;
    else if (++h->stagnant > STAGNATION_LIMIT)
        return ILLEGAL; /* Engine._stagnate raises */
    int changed = 0;
    for (Py_ssize_t i = 0; i < h->n_drops; i++) {
        int64_t job = h->drops[i];
        if (h->job_state[job] != ACTIVE || !h->drops_allowed)
            return ILLEGAL;
        if (h_drop(h, job, h->now) < 0)
            return NO_MEMORY;
        changed = 1;
    }
    for (Py_ssize_t i = 0; i < h->n_dispatches; i++) {
        int64_t op = h->dispatch_op[i], acc = h->dispatch_acc[i];
        int64_t duration = h->durations[op * h->n_acc + acc];
        if (h->op_state[op] != READY || h->running[acc] >= 0 || duration < 0)
            return ILLEGAL;
        h->op_state[op] = RUNNING;
        h->op_acc[op] = acc;
        h->op_start[op] = h->now;
        h->running[acc] = op;
        h->dispatches++;
        if (h_push(h, h->now + duration, COMPLETION, op) < 0)
            return NO_MEMORY;
    }
    if (h->has_wake) {
        int pending = 0;
        for (Py_ssize_t i = 0; i < h->n_wakes; i++)
            pending |= h->wakes[i] == h->wake_at;
        if (!pending) {
            if (grow((void **)&h->wakes, &h->wake_capacity, h->n_wakes, sizeof(int64_t)) < 0 ||
                h_push(h, h->wake_at, WAKE, 0) < 0)
                return NO_MEMORY;
            h->wakes[h->n_wakes++] = h->wake_at;
        }
    }
    return changed && h->n_dispatches == 0 && h->n_active && any_idle(h);
}

/* -- a policy's ready ops ------------------------------------------------------------------- */
static void ready_append(Replay *h, int64_t job, int64_t op)
{
    int64_t tail = h->ready_tail[job];
    h->ready_prev[op] = tail;
    h->ready_next[op] = -1;
    if (tail >= 0)
        h->ready_next[tail] = op;
    else
        h->ready_head[job] = op;
    h->ready_tail[job] = op;
}

static void ready_remove(Replay *h, int64_t job, int64_t op)
{
    int64_t prev = h->ready_prev[op], next = h->ready_next[op];
    if (prev >= 0)
        h->ready_next[prev] = next;
    else
        h->ready_head[job] = next;
    if (next >= 0)
        h->ready_prev[next] = prev;
    else
        h->ready_tail[job] = prev;
}

static void add_dispatch(Replay *h, int64_t op, int64_t acc)
{
    h->dispatch_op[h->n_dispatches] = op;
    h->dispatch_acc[h->n_dispatches++] = acc;
}

/* -- the Dysta key on the event loop ---------------------------------------------------------- */

/* base.choose_accelerator, "earliest_finish": the idle accelerator with the shortest predicted
 * duration, the first of equal ones; its index in idle, -1 if the op is eligible on none */
static Py_ssize_t choose(const Replay *h, int64_t op, Py_ssize_t n_idle)
{
    Py_ssize_t best = -1;
    int64_t best_duration = 0;
    for (Py_ssize_t i = 0; i < n_idle; i++) {
        int64_t duration = h->predicted[op * h->n_acc + h->idle[i]];
        if (duration >= 0 && (best < 0 || duration < best_duration)) {
            best = i;
            best_duration = duration;
        }
    }
    return best;
}

/* _DystaKey._observe and decide: take in the notices; rank the jobs with ready ops by key (a
 * stable sort: equal keys keep the queue's order); give each idle accelerator the best-ranked
 * ready op eligible on it (fill_idle) */
static void d_decide(Replay *h)
{
    Loop *k = &h->key;
    for (Py_ssize_t i = 0; i < h->n_notices; i++) {
        int64_t kind = h->notices[2 * i], item = h->notices[2 * i + 1];
        if (kind == N_OP_READY) {
            ready_append(h, h->op_job[item], item);
        } else if (kind == N_OP_DONE) {
            int64_t job = h->op_job[item];
            if (!h->tracked[job])
                continue; /* finished or dropped while this op ran */
            k->remaining[job] -= k->per_op[item];
            if (k->gamma)
                add_ratio(k, job, item);
        } else if (kind == N_RELEASED) {
            h->tracked[item] = 1;
            k->remaining[item] = k->total[item];
            k->ratio_sum[item] = 0.0;
            k->ratio_count[item] = 0;
            h->ready_head[item] = h->ready_tail[item] = -1;
        } else {
            h->tracked[item] = 0;
        }
    }
    Py_ssize_t n_idle = 0, ranked = 0;
    for (Py_ssize_t acc = 0; acc < h->n_acc; acc++)
        if (h->running[acc] < 0)
            h->idle[n_idle++] = acc;
    if (n_idle == 0)
        return;
    double n_active = (double)h->n_active;
    for (Py_ssize_t i = 0; i < h->n_active; i++) {
        int64_t job = h->active[i];
        if (h->ready_head[job] < 0)
            continue;
        double key = dysta_key(k, job, h->now, n_active);
        Py_ssize_t at = ranked++;
        while (at > 0 && key < h->keys[at - 1]) { /* insertion: after every equal key */
            h->keys[at] = h->keys[at - 1];
            h->order[at] = h->order[at - 1];
            at--;
        }
        h->keys[at] = key;
        h->order[at] = job;
    }
    for (Py_ssize_t r = 0; r < ranked && n_idle > 0; r++) {
        int64_t job = h->order[r];
        for (int64_t op = h->ready_head[job], next; op >= 0 && n_idle > 0; op = next) {
            next = h->ready_next[op];
            Py_ssize_t slot = choose(h, op, n_idle);
            if (slot < 0)
                continue;
            add_dispatch(h, op, h->idle[slot]);
            memmove(h->idle + slot, h->idle + slot + 1,
                    (size_t)(n_idle - slot - 1) * sizeof(int64_t));
            n_idle--;
            ready_remove(h, job, op);
        }
    }
}

/* -- the XRBench harness replay --------------------------------------------------------------- */
static const float FINISH_MARGIN_MS = 1e-2f; /* HARNESS_FINISH_MARGIN_MS */

static float ms(const Replay *h, int64_t units) /* _ReplayReplay._ms */
{
    return (float)((double)units * h->unit_ns / 1e6);
}

static int64_t units_at_or_after(const Replay *h, float time_ms)
{
    return (int64_t)ceil((double)time_ms * 1e6 / h->unit_ns - 1e-9);
}

static float latency_ms(const Replay *h, int64_t units) /* _ReplayReplay._latency_ms */
{
    return (float)((double)units * h->unit_ns) / 1e6f;
}

static void sorted_insert(Sorted *list, Entry entry) /* bisect.insort by (frame, job) */
{
    Py_ssize_t at = list->end;
    while (at > list->head) {
        Entry *before = &list->items[at - 1];
        if (before->frame < entry.frame || (before->frame == entry.frame && before->job <= entry.job))
            break;
        at--;
    }
    memmove(list->items + at + 1, list->items + at, (size_t)(list->end - at) * sizeof(Entry));
    list->items[at] = entry;
    list->end++;
}

static int64_t ready_first(Replay *h, int64_t job) /* next(iter(ready[job])), taken out */
{
    int64_t op = h->ready_head[job];
    if (op < 0) { /* the stepped replay fails here too (an empty ready dict) */
        h->broken = 1;
        return -1;
    }
    int64_t next = h->ready_next[op];
    h->ready_head[job] = next;
    if (next >= 0)
        h->ready_prev[next] = -1;
    else
        h->ready_tail[job] = -1;
    return op;
}

static void forget(Replay *h, int64_t job) /* _Service.forget */
{
    h->gone[job] = 1;
    h->ready_head[job] = h->ready_tail[job] = -1;
    int64_t acc = h->home[job];
    if (acc >= 0) {
        h->owner[acc] = -1;
        h->home[job] = -1;
    }
}

/* _ReplayReplay._dispatch: passes over the models in alphabetical order until nothing starts */
static void h_dispatch_passes(Replay *h, float time_ms)
{
    int started = 1;
    while (started) {
        started = 0;
        for (Py_ssize_t t = 0; t < h->n_tasks; t++) {
            int64_t task = h->task_order[t];
            Sorted *queue = &h->queues[task];
            while (queue->end > queue->head && h->gone[queue->items[queue->head].job])
                queue->head++;
            if (queue->end == queue->head)
                continue;
            Entry head = queue->items[queue->head];
            int gated = 0;
            for (int64_t u = h->up_offsets[task]; u < h->up_offsets[task + 1]; u++)
                gated |= h->completions[h->ups[u]] <= head.frame;
            if (gated)
                continue;
            int64_t best = -1;
            for (Py_ssize_t i = 0; i < h->n_free; i++) {
                int64_t acc = h->free_accs[i];
                int64_t value = h->latency[head.job * h->n_acc + acc];
                if (h->run_job[acc] >= 0 || value < 0)
                    continue;
                if (best < 0 || value < h->latency[head.job * h->n_acc + best] ||
                    (value == h->latency[head.job * h->n_acc + best] && acc < best))
                    best = acc;
            }
            if (best < 0)
                continue; /* no idle accelerator runs the whole model */
            h->run_job[best] = head.job;
            h->run_completion[best] =
                time_ms + latency_ms(h, h->latency[head.job * h->n_acc + best]);
            queue->head++;
            /* _Service.start */
            int64_t op = ready_first(h, head.job);
            if (op < 0)
                return;
            add_dispatch(h, op, best);
            for (Py_ssize_t i = 0; i < h->n_free; i++)
                if (h->free_accs[i] == best) {
                    memmove(h->free_accs + i, h->free_accs + i + 1,
                            (size_t)(h->n_free - i - 1) * sizeof(int64_t));
                    h->n_free--;
                    break;
                }
            h->owner[best] = head.job;
            h->home[head.job] = best;
            started = 1;
        }
    }
}

/* _ReplayReplay._event */
static void h_event(Replay *h, float time_ms)
{
    for (Py_ssize_t task = 0; task < h->n_tasks; task++) { /* GetNewInferenceRequests */
        Sorted *pending = &h->pending[task];
        while (pending->end > pending->head &&
               h->release_ms[pending->items[pending->head].job] <= time_ms) {
            Entry entry = pending->items[pending->head++];
            if (!h->gone[entry.job])
                sorted_insert(&h->queues[task], entry);
        }
    }
    float limit = time_ms + FINISH_MARGIN_MS; /* RemoveFinishedProcesses */
    for (Py_ssize_t acc = 0; acc < h->n_acc; acc++)
        if (h->run_job[acc] >= 0 && limit >= h->run_completion[acc]) {
            h->completions[h->job_task[h->run_job[acc]]]++;
            h->run_job[acc] = -1;
        }
    for (Py_ssize_t task = 0; task < h->n_tasks; task++) { /* DropLateFrames */
        Sorted *queue = &h->queues[task];
        while (queue->end > queue->head) {
            int64_t job = queue->items[queue->head].job;
            if (!(h->gone[job] || (h->drops_allowed && h->deadline_ms[job] < time_ms)))
                break;
            queue->head++;
            if (!h->gone[job]) {
                h->drops[h->n_drops++] = job;
                h->gone[job] = 1;
            }
        }
    }
    h_dispatch_passes(h, time_ms);
    h->last_event = time_ms; /* Timer::GetNextEventTime */
    h->has_last = 1;
    int found = 0;
    float next = 0.0f;
    if (h->has_tick) {
        next = (float)(h->base_frame + 1) * h->tick;
        found = 1;
    }
    float tick = next;
    for (Py_ssize_t acc = 0; acc < h->n_acc; acc++)
        if (h->run_job[acc] >= 0 && (!found || h->run_completion[acc] < next)) {
            next = h->run_completion[acc];
            found = 1;
        }
    h->has_next = found;
    h->next_event = next;
    if (h->has_tick && next == tick)
        h->base_frame++;
}

static int h_due(const Replay *h, float time_ms)
{
    if (units_at_or_after(h, time_ms) > h->now)
        return 0;
    float limit = time_ms + FINISH_MARGIN_MS;
    for (Py_ssize_t acc = 0; acc < h->n_acc; acc++) {
        int64_t job = h->run_job[acc];
        if (job >= 0 && !(h->run_completion[acc] > limit) && !h->done[job])
            return 0;
    }
    return 1;
}

/* _ReplayReplay.decide */
static void x_decide(Replay *h)
{
    for (Py_ssize_t i = 0; i < h->n_notices; i++) { /* _observe */
        int64_t kind = h->notices[2 * i], item = h->notices[2 * i + 1];
        if (kind == N_OP_READY) {
            ready_append(h, h->op_job[item], item);
        } else if (kind == N_RELEASED) {
            if (h->has_last && h->deadline_ms[item] < h->last_event && h->drops_allowed) {
                h->drops[h->n_drops++] = item;
                h->gone[item] = 1;
            } else {
                Entry entry = {h->job_frame[item], item};
                sorted_insert(&h->pending[h->job_task[item]], entry);
                if (!h->has_next) {
                    h->next_event = ms(h, h->now);
                    h->has_next = 1;
                }
            }
        } else if (kind == N_JOB_DONE) {
            h->done[item] = 1;
            forget(h, item);
        } else if (kind == N_JOB_DROPPED) {
            forget(h, item);
        }
    }
    h->n_free = 0; /* _Service.continue_jobs */
    for (Py_ssize_t acc = 0; acc < h->n_acc; acc++) {
        if (h->running[acc] >= 0)
            continue;
        int64_t job = h->owner[acc];
        if (job < 0)
            h->free_accs[h->n_free++] = acc;
        else if (h->ready_head[job] >= 0)
            add_dispatch(h, ready_first(h, job), acc); /* back to back on its accelerator */
    }
    while (h->has_next && h_due(h, h->next_event))
        h_event(h, h->next_event);
    int waiting = 0;
    for (Py_ssize_t task = 0; task < h->n_tasks; task++)
        waiting |= h->pending[task].end > h->pending[task].head ||
                   h->queues[task].end > h->queues[task].head;
    for (Py_ssize_t acc = 0; acc < h->n_acc; acc++)
        waiting |= h->run_job[acc] >= 0;
    if (h->has_next && waiting) {
        int64_t wake = units_at_or_after(h, h->next_event);
        if (wake > h->now) {
            h->wake_at = wake;
            h->has_wake = 1;
        }
    }
}

/* -- DREAM on the event loop -------------------------------------------------------------- */
static void flight_remove(Replay *h, int64_t job, int64_t op)
{
    int64_t prev = h->flight_prev[op], next = h->flight_next[op];
    if (prev >= 0)
        h->flight_next[prev] = next;
    else
        h->flight_head[job] = next;
    if (next >= 0)
        h->flight_prev[next] = prev;
    h->in_flight[op] = 0;
}

/* Dream._forget */
static void dream_forget(Replay *h, int64_t job)
{
    h->ready_head[job] = h->ready_tail[job] = -1;
    for (int64_t op = h->flight_head[job]; op >= 0; op = h->flight_next[op])
        h->in_flight[op] = 0;
    h->flight_head[job] = -1;
    h->has_last_end[job] = 0;
}

/* Dream._in_flight_latency: what is predicted to be left of the job's running ops */
static double in_flight_latency(const Replay *h, int64_t job)
{
    int64_t total = 0;
    for (int64_t op = h->flight_head[job]; op >= 0; op = h->flight_next[op])
        if (h->flight_end[op] > h->now)
            total += h->flight_end[op] - h->now;
    return (double)total;
}

static double row_min(const double *row, Py_ssize_t n) /* numpy's min of a row (no NaN) */
{
    double best = row[0];
    for (Py_ssize_t i = 1; i < n; i++)
        if (row[i] < best)
            best = row[i];
    return best;
}

/* The weight tuner's observe: once its window's time is up and a job ended in it, on_window
 * closes it (in Python, with the GIL) and gives the next weights; 0, or -1 if it raised */
static int tuner_observe(Replay *h)
{
    if (h->now < h->window_start + h->window || h->ended == 0)
        return 0;
    PyEval_RestoreThread(h->thread);
    PyObject *weights = PyObject_CallFunction(h->on_window, "LLLL", (long long)h->now,
                                              (long long)h->energy_nj, (long long)h->ended,
                                              (long long)h->missed);
    int ok = weights != NULL && PyArg_ParseTuple(weights, "dd", &h->alpha, &h->beta);
    Py_XDECREF(weights);
    h->thread = PyEval_SaveThread();
    if (!ok) {
        h->failed = 1;
        return -1;
    }
    h->window_start = h->now;
    h->energy_nj = h->ended = h->missed = 0;
    return 0;
}

/* Dream._start: dispatch op to acc; its predicted cost moves from the rest to in flight */
static void dream_start(Replay *h, int64_t job, int64_t op, int64_t acc)
{
    ready_remove(h, job, op);
    add_dispatch(h, op, acc);
    for (Py_ssize_t a = 0; a < h->n_acc; a++) {
        h->rest_latency[job * h->n_acc + a] -= h->op_latency[op * h->n_acc + a];
        h->rest_energy[job * h->n_acc + a] -= h->op_energy[op * h->n_acc + a];
    }
    h->flight_end[op] = h->now + h->predicted[op * h->n_acc + acc];
    h->flight_prev[op] = -1; /* first in the list: the order does not matter to a sum */
    h->flight_next[op] = h->flight_head[job];
    if (h->flight_head[job] >= 0)
        h->flight_prev[h->flight_head[job]] = op;
    h->flight_head[job] = op;
    h->in_flight[op] = 1;
    h->charged[op] = 1;
}

/* Dream._eligible for one row: whether one of the job's ready ops runs on acc, now idle */
static int dream_eligible(const Replay *h, int64_t job, Py_ssize_t acc)
{
    if (!h->is_idle[acc])
        return 0;
    for (int64_t op = h->ready_head[job]; op >= 0; op = h->ready_next[op])
        if (h->predicted[op * h->n_acc + acc] >= 0)
            return 1;
    return 0;
}

static double power(double x, double lam) /* numpy's x ** lam for lam 0, 0.5, 1, 2 */
{
    if (lam == 0.0)
        return 1.0;
    if (lam == 0.5)
        return sqrt(x);
    if (lam == 1.0)
        return x;
    return x * x;
}

/* Dream._dispatch over the candidates (jobs with ready ops, by index) and idle accelerators */
static void dream_dispatch(Replay *h, Py_ssize_t n_candidates, Py_ssize_t n_idle)
{
    Py_ssize_t n_acc = h->n_acc;
    int64_t now = h->now;
    if (n_candidates == 1 && n_idle == 1) { /* one pair: its score cannot change the outcome */
        int64_t job = h->candidates[0], acc = -1;
        for (Py_ssize_t a = 0; a < n_acc; a++)
            if (h->is_idle[a])
                acc = a;
        for (int64_t op = h->ready_head[job]; op >= 0; op = h->ready_next[op])
            if (h->predicted[op * n_acc + acc] >= 0) {
                dream_start(h, job, op, acc);
                break;
            }
        return;
    }
    for (Py_ssize_t row = 0; row < n_candidates; row++) { /* map_scores, masked */
        int64_t job = h->candidates[row];
        double flight = in_flight_latency(h, job);
        double *latency = h->cell_latency + row * n_acc, *score = h->scores + row * n_acc;
        const double *energy = h->rest_energy + job * n_acc;
        for (Py_ssize_t a = 0; a < n_acc; a++)
            latency[a] = h->rest_latency[job * n_acc + a] + flight;
        double best_latency = row_min(latency, n_acc), best_energy = row_min(energy, n_acc);
        double slack = (double)(h->deadline[job] - now);
        double urgency = best_latency / (slack > h->epsilon ? slack : h->epsilon);
        double starvation = (double)(now - h->last_progress[job]) / h->period[job];
        double base = urgency + h->alpha * starvation;
        for (Py_ssize_t a = 0; a < n_acc; a++) {
            double latency_ratio = latency[a] > 0 ? best_latency / latency[a] : 1.0;
            double energy_ratio = energy[a] > 0 ? best_energy / energy[a] : 1.0;
            double preference = latency_ratio * power(energy_ratio, h->lam);
            score[a] = dream_eligible(h, job, a) ? base + h->beta * preference : -INFINITY;
        }
    }
    for (;;) {
        double top = -INFINITY;
        for (Py_ssize_t c = 0; c < n_candidates * n_acc; c++)
            if (h->scores[c] > top)
                top = h->scores[c];
        if (top == -INFINITY)
            break;
        /* equal scores: the accelerator where the job's rest is fastest, then the lowest
         * indices (the first of the smallest (latency, row, acc)) */
        Py_ssize_t best = -1;
        for (Py_ssize_t c = 0; c < n_candidates * n_acc; c++)
            if (h->scores[c] == top && (best < 0 || h->cell_latency[c] < h->cell_latency[best]))
                best = c;
        Py_ssize_t row = best / n_acc, acc = best % n_acc;
        int64_t job = h->candidates[row];
        int64_t op = h->ready_head[job];
        while (op >= 0 && h->predicted[op * n_acc + acc] < 0)
            op = h->ready_next[op];
        if (op < 0) { /* a masked score let through: Python would fail here too */
            h->broken = 1;
            return;
        }
        dream_start(h, job, op, acc);
        h->is_idle[acc] = 0;
        for (Py_ssize_t r = 0; r < n_candidates; r++)
            h->scores[r * n_acc + acc] = -INFINITY;
        for (Py_ssize_t a = 0; a < n_acc; a++) /* another ready op may take another acc */
            if (h->ready_head[job] < 0 || !dream_eligible(h, job, a))
                h->scores[row * n_acc + a] = -INFINITY;
    }
}

/* Dream.decide (with _observe and the tuner's observe); variants are not in the core */
static void dream_decide(Replay *h)
{
    for (Py_ssize_t i = 0; i < h->n_notices; i++) { /* _observe */
        int64_t kind = h->notices[2 * i], item = h->notices[2 * i + 1];
        if (kind == N_OP_READY) {
            ready_append(h, h->op_job[item], item);
        } else if (kind == N_RELEASED) { /* _on_release: the rests of the job's ops */
            for (Py_ssize_t a = 0; a < h->n_acc; a++) {
                double latency = 0.0, energy = 0.0;
                for (int64_t op = h->offsets[item]; op < h->offsets[item + 1]; op++) {
                    latency += h->op_latency[op * h->n_acc + a];
                    energy += h->op_energy[op * h->n_acc + a];
                }
                h->rest_latency[item * h->n_acc + a] = latency;
                h->rest_energy[item * h->n_acc + a] = energy;
            }
        } else if (kind == N_OP_DONE) {
            int64_t job = h->op_job[item];
            if (h->in_flight[item])
                flight_remove(h, job, item);
            if (h->charged[item]) { /* _op_accelerator.pop: the tuner's energy */
                h->charged[item] = 0;
                h->energy_nj += h->op_energy_nj[item * h->n_acc + h->op_acc[item]];
            }
            int64_t end = h->op_end[item];
            if (!h->has_last_end[job] || end > h->last_end[job])
                h->last_end[job] = end;
            h->has_last_end[job] = 1;
        } else if (kind == N_JOB_DONE) {
            int64_t completion = h->has_last_end[item] ? h->last_end[item] : h->now;
            h->ended++;
            h->missed += completion > h->deadline[item];
            dream_forget(h, item);
        } else if (kind == N_JOB_DROPPED) {
            h->ended++;
            h->missed++;
            dream_forget(h, item);
        }
    }
    if (tuner_observe(h) < 0)
        return;
    Py_ssize_t n_candidates = 0; /* _candidates: jobs with a ready op, by index */
    for (Py_ssize_t i = 0; i < h->n_active; i++) {
        int64_t job = h->active[i];
        if (h->ready_head[job] < 0)
            continue;
        Py_ssize_t at = n_candidates++;
        while (at > 0 && h->candidates[at - 1] > job) {
            h->candidates[at] = h->candidates[at - 1];
            at--;
        }
        h->candidates[at] = job;
    }
    if (n_candidates == 0)
        return;
    if (h->proactive_drop && h->drops_allowed) {
        Py_ssize_t kept = 0;
        for (Py_ssize_t i = 0; i < n_candidates; i++) {
            int64_t job = h->candidates[i];
            double best = row_min(h->rest_latency + job * h->n_acc, h->n_acc);
            if ((double)(h->deadline[job] - h->now) < best + in_flight_latency(h, job)) {
                h->drops[h->n_drops++] = job;
                dream_forget(h, job);
            } else {
                h->candidates[kept++] = job;
            }
        }
        n_candidates = kept;
    }
    Py_ssize_t n_idle = 0;
    for (Py_ssize_t a = 0; a < h->n_acc; a++) {
        h->is_idle[a] = h->running[a] < 0;
        n_idle += h->is_idle[a];
    }
    if (n_idle && n_candidates)
        dream_dispatch(h, n_candidates, n_idle);
}

/* -- FCFS and EDF on the event loop (ReadyHeapPolicy.absorb and fill) ------------------------ */
static int entry_before(const Entry4 *a, const Entry4 *b)
{
    if (a->key != b->key)
        return a->key < b->key;
    if (a->key2 != b->key2)
        return a->key2 < b->key2;
    if (a->job != b->job)
        return a->job < b->job;
    return a->op < b->op;
}

DEFINE_HEAP(entries, Entry4, entry_before)

static int queue_push(Replay *h, Entry4 entry)
{
    return entries_push(&h->queue, &h->queue_size, &h->queue_capacity, entry);
}

/* The job's key from its release on: FCFS (release, job), EDF (deadline, release, job); the
 * release is the effective one (View.job_release), the op follows */
static void heap_decide(Replay *h)
{
    for (Py_ssize_t i = 0; i < h->n_notices; i++) { /* absorb */
        int64_t kind = h->notices[2 * i], item = h->notices[2 * i + 1];
        if (kind == N_RELEASED) {
            int edf = h->policy == POLICY_EDF;
            h->job_key[item] = edf ? h->deadline[item] : h->job_visible[item];
            h->job_key2[item] = edf ? h->job_visible[item] : 0;
        } else if (kind == N_OP_READY) {
            int64_t job = h->op_job[item];
            Entry4 entry = {h->job_key[job], h->job_key2[job], job, item};
            if (queue_push(h, entry) < 0) {
                h->broken = 2; /* no memory */
                return;
            }
        }
    }
    Py_ssize_t n_idle = 0, n_skipped = 0; /* fill */
    for (Py_ssize_t acc = 0; acc < h->n_acc; acc++)
        if (h->running[acc] < 0)
            h->idle[n_idle++] = acc;
    while (h->queue_size > 0 && n_idle > 0) {
        Entry4 entry = entries_pop(h->queue, &h->queue_size);
        if (h->op_state[entry.op] != READY)
            continue; /* stale */
        Py_ssize_t slot = choose(h, entry.op, n_idle);
        if (slot < 0) {
            if (grow((void **)&h->skipped, &h->skipped_capacity, n_skipped, sizeof(Entry4)) < 0) {
                h->broken = 2;
                return;
            }
            h->skipped[n_skipped++] = entry;
            continue;
        }
        add_dispatch(h, entry.op, h->idle[slot]);
        memmove(h->idle + slot, h->idle + slot + 1, (size_t)(n_idle - slot - 1) * sizeof(int64_t));
        n_idle--;
    }
    for (Py_ssize_t i = 0; i < n_skipped; i++)
        if (queue_push(h, h->skipped[i]) < 0) {
            h->broken = 2;
            return;
        }
}

/* -- a whole replay -------------------------------------------------------------------------- */
static int run_replay(Replay *h) /* END, STALLED, ILLEGAL or NO_MEMORY */
{
    for (Py_ssize_t job = 0; job < h->n_jobs; job++)
        if (h->n_upstream[job] == 0 && h_push(h, h->release[job], RELEASE, job) < 0)
            return NO_MEMORY;
    int state = h_next_point(h);
    while (state == POINT) {
        h->n_dispatches = h->n_drops = 0;
        h->has_wake = 0;
        if (h->policy == POLICY_DYSTA)
            d_decide(h);
        else if (h->policy == POLICY_HARNESS)
            x_decide(h);
        else if (h->policy == POLICY_DREAM)
            dream_decide(h);
        else
            heap_decide(h);
        if (h->failed)
            return RAISED; /* on_window raised: its exception is set */
        if (h->broken == 2)
            return NO_MEMORY;
        int again = h_apply(h);
        if (again < 0)
            return again;
        state = again ? POINT : h_next_point(h);
    }
    return state;
}

/* The engine's inputs, set in h by the caller, checked; its state allocated and set */
static int engine_setup(Replay *h, Arena *arena)
{
    Py_ssize_t n_jobs = h->n_jobs, n_ops = h->n_ops, n_acc = h->n_acc;
    Py_ssize_t n_links = h->down_offsets[n_jobs];
    if (check_offsets(h->offsets, n_jobs, n_ops, "offsets") < 0 ||
        check_range(h->downs, n_links, n_jobs, "downs") < 0 ||
        check_range(h->op_job, n_ops, n_jobs, "op_job") < 0 ||
        check_range(h->succs, h->succ_offsets[n_ops], n_ops, "succs") < 0)
        return -1;
    for (Py_ssize_t job = 0; job < n_jobs; job++) {
        if (h->offsets[job + 1] == h->offsets[job]) {
            PyErr_Format(PyExc_ValueError, "job %zd has no ops", job);
            return -1;
        }
        for (int64_t op = h->offsets[job]; op < h->offsets[job + 1]; op++)
            if (h->op_job[op] != job) {
                PyErr_Format(PyExc_ValueError, "op %lld is not listed with its job",
                             (long long)op);
                return -1;
            }
    }
    for (Py_ssize_t op = 0; op < n_ops; op++)
        for (int64_t s = h->succ_offsets[op]; s < h->succ_offsets[op + 1]; s++)
            if (h->op_job[h->succs[s]] != h->op_job[op]) {
                PyErr_Format(PyExc_ValueError, "op %zd has a successor in another job", op);
                return -1;
            }
    int64_t **words[] = {&h->upstream_left, &h->todo, &h->drops, &h->ready_head,
                         &h->ready_tail, &h->active, &h->last_progress};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (!(*words[i] = arena_alloc(arena, n_jobs, sizeof(int64_t))))
            return -1;
    int64_t **per_op[] = {&h->preds_left, &h->ready_next, &h->ready_prev};
    for (size_t i = 0; i < sizeof per_op / sizeof *per_op; i++)
        if (!(*per_op[i] = arena_alloc(arena, n_ops, sizeof(int64_t))))
            return -1;
    int64_t **per_acc[] = {&h->running, &h->dispatch_op, &h->dispatch_acc};
    for (size_t i = 0; i < sizeof per_acc / sizeof *per_acc; i++)
        if (!(*per_acc[i] = arena_alloc(arena, n_acc, sizeof(int64_t))))
            return -1;
    if (!(h->stack = arena_alloc(arena, n_jobs + n_links + 1, sizeof(int64_t))) ||
        !(h->job_state = arena_alloc(arena, n_jobs, 1)) ||
        !(h->op_state = arena_alloc(arena, n_ops, 1)))
        return -1;
    for (Py_ssize_t job = 0; job < n_jobs; job++) {
        h->upstream_left[job] = h->n_upstream[job];
        h->ready_head[job] = h->ready_tail[job] = -1;
    }
    for (Py_ssize_t op = 0; op < n_ops; op++)
        h->preds_left[op] = h->n_preds[op];
    for (Py_ssize_t acc = 0; acc < n_acc; acc++)
        h->running[acc] = -1;
    return 0;
}

static void engine_free(Replay *h)
{
    PyMem_RawFree(h->heap);
    PyMem_RawFree(h->wakes);
    PyMem_RawFree(h->notices);
    PyMem_RawFree(h->queue);
    PyMem_RawFree(h->skipped);
}

/* One buffer of a replay: its name and length in 8-byte items, or (from >= 0) the last entry
 * of the offsets buffer at index from; offsets: it is a list of offsets; writable: an output */
typedef struct {
    const char *name;
    Py_ssize_t length;
    int from, offsets, writable;
} BufferSpec;

/* Get the items of the tuple buffers as views, by specs; 0, or -1 with an exception */
static int parse_buffers(PyObject *buffers, Py_buffer *views, int *held, int count,
                         const BufferSpec *specs)
{
    if (PyTuple_GET_SIZE(buffers) != count) {
        PyErr_Format(PyExc_ValueError, "expected %d buffers, got %zd", count,
                     PyTuple_GET_SIZE(buffers));
        return -1;
    }
    for (int i = 0; i < count; i++) {
        const BufferSpec *spec = &specs[i];
        Py_ssize_t length = spec->length;
        if (spec->from >= 0)
            length = ((const int64_t *)views[spec->from].buf)[specs[spec->from].length - 1];
        if (length < 0) {
            PyErr_Format(PyExc_ValueError, "%s: negative length", spec->name);
            return -1;
        }
        if (get_buffer(PyTuple_GET_ITEM(buffers, i), &views[i], length, spec->writable,
                       spec->name) < 0)
            return -1;
        *held = i + 1;
        if (spec->offsets &&
            check_offsets(views[i].buf, length - 1, PY_SSIZE_T_MAX, spec->name) < 0)
            return -1;
    }
    return 0;
}

/* The buffers every replay on the event loop takes first, in this order: the engine's inputs,
 * then its outputs (op_acc and the per-job ones filled by the core; op_start and op_end -1
 * where an op did not run) */
enum { ENGINE_BUFFERS = 18 };
#define ENGINE_SPECS(n_jobs, n_ops, n_acc)                                                      \
    {"release", n_jobs, -1, 0, 0}, {"deadline", n_jobs, -1, 0, 0},                             \
        {"offsets", n_jobs + 1, -1, 1, 0}, {"n_upstream", n_jobs, -1, 0, 0},                   \
        {"down_offsets", n_jobs + 1, -1, 1, 0}, {"downs", 0, 4, 0, 0},                        \
        {"op_job", n_ops, -1, 0, 0}, {"n_preds", n_ops, -1, 0, 0},                             \
        {"succ_offsets", n_ops + 1, -1, 1, 0}, {"succs", 0, 8, 0, 0},                          \
        {"durations", (n_ops) * (n_acc), -1, 0, 0}, {"op_start", n_ops, -1, 0, 1},             \
        {"op_end", n_ops, -1, 0, 1}, {"op_acc", n_ops, -1, 0, 1},                              \
        {"job_visible", n_jobs, -1, 0, 1}, {"job_completion", n_jobs, -1, 0, 1},               \
        {"job_drop_time", n_jobs, -1, 0, 1}, {"job_status", n_jobs, -1, 0, 1}

static void engine_views(Replay *h, Py_buffer *views)
{
    h->release = views[0].buf;
    h->deadline = views[1].buf;
    h->offsets = views[2].buf;
    h->n_upstream = views[3].buf;
    h->down_offsets = views[4].buf;
    h->downs = views[5].buf;
    h->op_job = views[6].buf;
    h->n_preds = views[7].buf;
    h->succ_offsets = views[8].buf;
    h->succs = views[9].buf;
    h->durations = views[10].buf;
    h->op_start = views[11].buf;
    h->op_end = views[12].buf;
    h->op_acc = views[13].buf;
    h->job_visible = views[14].buf;
    h->job_completion = views[15].buf;
    h->job_drop_time = views[16].buf;
    h->job_status = views[17].buf;
}

/* Run the replay without the GIL (a DREAM tuner window takes it back), then report:
 * (status, decisions, dispatches, clock), or NULL with an exception */
static PyObject *run_and_report(Replay *h)
{
    h->thread = PyEval_SaveThread();
    int status = run_replay(h);
    PyEval_RestoreThread(h->thread);
    if (status == NO_MEMORY)
        return PyErr_NoMemory();
    if (status == RAISED)
        return NULL;
    for (Py_ssize_t job = 0; job < h->n_jobs; job++)
        h->job_status[job] = h->job_state[job];
    return Py_BuildValue("innL", status, h->decisions, h->dispatches, (long long)h->now);
}

static void release_all(Replay *h, Arena *arena, Py_buffer *views, int held)
{
    if (h != NULL)
        engine_free(h);
    for (int i = 0; i < arena->count; i++)
        PyMem_Free(arena->blocks[i]);
    for (int i = 0; i < held; i++)
        PyBuffer_Release(&views[i]);
}

static PyObject *dysta_job_picks(PyObject *self, PyObject *args)
{
    (void)self;
    enum { N = 11 };
    int rule, gamma;
    double alpha, seconds, beta;
    Py_ssize_t n_jobs, n_ops;
    PyObject *buffers;
    if (!PyArg_ParseTuple(args, "idddpnnO!", &rule, &alpha, &seconds, &beta, &gamma, &n_jobs,
                          &n_ops, &PyTuple_Type, &buffers))
        return NULL;
    if (rule < RULE_PREMA || rule > RULE_DYSTA)
        return PyErr_Format(PyExc_ValueError, "unknown rule %d", rule);
    if (n_jobs < 0 || n_ops < 0)
        return PyErr_Format(PyExc_ValueError, "negative counts");
    gamma = rule == RULE_DYSTA && gamma;
    Py_ssize_t sparsities = gamma ? n_ops : 0; /* read only with gamma */
    const BufferSpec specs[N] = {
        {"release", n_jobs, -1, 0, 0}, {"deadline", n_jobs, -1, 0, 0},
        {"priority", n_jobs, -1, 0, 0}, {"offsets", n_jobs + 1, -1, 1, 0},
        {"arrivals", n_jobs, -1, 0, 0}, {"duration", n_ops, -1, 0, 0},
        {"per_op", n_ops, -1, 0, 0}, {"sparsity", sparsities, -1, 0, 0},
        {"sparsity_mean", sparsities, -1, 0, 0}, {"op_start", n_ops, -1, 0, 1},
        {"op_end", n_ops, -1, 0, 1}};
    Py_buffer views[N];
    int held = 0;
    PyObject *result = NULL;
    Arena arena = {.count = 0};
    Loop loop = {.rule = rule, .alpha = alpha, .seconds = seconds, .beta = beta,
                 .gamma = gamma, .n_jobs = n_jobs, .n_ops = n_ops};
    if (parse_buffers(buffers, views, &held, N, specs) < 0)
        goto done;
    loop.release = views[0].buf;
    loop.deadline = views[1].buf;
    loop.priority = views[2].buf;
    loop.offsets = views[3].buf;
    loop.arrivals = views[4].buf;
    loop.duration = views[5].buf;
    loop.per_op = views[6].buf;
    loop.sparsity = views[7].buf;
    loop.sparsity_mean = views[8].buf;
    loop.op_start = views[9].buf;
    loop.op_end = views[10].buf;
    if (check_offsets(loop.offsets, n_jobs, n_ops, "offsets") < 0 ||
        check_range(loop.arrivals, n_jobs, n_jobs, "arrivals") < 0)
        goto done;
    for (Py_ssize_t job = 0; job < n_jobs; job++)
        if (loop.offsets[job + 1] == loop.offsets[job]) {
            PyErr_Format(PyExc_ValueError, "job %zd has no ops", job);
            goto done;
        }
    int64_t **words[] = {&loop.next_op, &loop.remaining, &loop.total, &loop.last_progress,
                         &loop.active, &loop.ratio_count};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (!(*words[i] = arena_alloc(&arena, n_jobs, sizeof(int64_t))))
            goto done;
    double **reals[] = {&loop.token, &loop.score, &loop.ratio_sum};
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++)
        if (!(*reals[i] = arena_alloc(&arena, n_jobs, sizeof(double))))
            goto done;
    if (!(loop.seen = arena_alloc(&arena, n_jobs, 1)) ||
        !(loop.fresh = arena_alloc(&arena, n_jobs, 1)))
        goto done;
    job_totals(&loop);
    int64_t clock = 0;
    Py_ssize_t decisions;
    Py_BEGIN_ALLOW_THREADS
    decisions = run(&loop, &clock);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("nL", decisions, (long long)clock);
done:
    release_all(NULL, &arena, views, held);
    return result;
}

static PyObject *event_job_picks(PyObject *self, PyObject *args)
{
    (void)self;
    enum { N = ENGINE_BUFFERS + 4 };
    int rule, gamma;
    double seconds, beta;
    Py_ssize_t n_jobs, n_ops, n_acc;
    PyObject *buffers;
    if (!PyArg_ParseTuple(args, "iddpnnnO!", &rule, &seconds, &beta, &gamma, &n_jobs, &n_ops,
                          &n_acc, &PyTuple_Type, &buffers))
        return NULL;
    if (rule != RULE_DYSTA)
        return PyErr_Format(PyExc_ValueError, "the event loop takes rule %d only", RULE_DYSTA);
    if (n_jobs < 0 || n_ops < 0 || n_acc < 1)
        return PyErr_Format(PyExc_ValueError, "bad counts");
    Py_ssize_t sparsities = gamma ? n_ops : 0; /* read only with gamma */
    const BufferSpec specs[N] = {
        ENGINE_SPECS(n_jobs, n_ops, n_acc), {"predicted", n_ops * n_acc, -1, 0, 0},
        {"per_op", n_ops, -1, 0, 0}, {"sparsity", sparsities, -1, 0, 0},
        {"sparsity_mean", sparsities, -1, 0, 0}};
    Py_buffer views[N];
    int held = 0;
    PyObject *result = NULL;
    Arena arena = {.count = 0};
    Replay h = {.policy = POLICY_DYSTA, .n_jobs = n_jobs, .n_ops = n_ops, .n_acc = n_acc};
    if (parse_buffers(buffers, views, &held, N, specs) < 0)
        goto done;
    engine_views(&h, views);
    h.predicted = views[ENGINE_BUFFERS].buf;
    if (engine_setup(&h, &arena) < 0)
        goto done;
    Loop *k = &h.key;
    *k = (Loop){.rule = rule, .seconds = seconds, .beta = beta, .gamma = gamma,
                .n_jobs = n_jobs, .n_ops = n_ops, .release = h.release, .deadline = h.deadline,
                .offsets = h.offsets, .per_op = views[ENGINE_BUFFERS + 1].buf,
                .sparsity = views[ENGINE_BUFFERS + 2].buf,
                .sparsity_mean = views[ENGINE_BUFFERS + 3].buf,
                .last_progress = h.last_progress};
    if (!(k->remaining = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(k->total = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(k->ratio_count = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(k->ratio_sum = arena_alloc(&arena, n_jobs, sizeof(double))) ||
        !(h.tracked = arena_alloc(&arena, n_jobs, 1)) ||
        !(h.order = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(h.keys = arena_alloc(&arena, n_jobs, sizeof(double))) ||
        !(h.idle = arena_alloc(&arena, n_acc, sizeof(int64_t))))
        goto done;
    job_totals(k);
    result = run_and_report(&h);
done:
    release_all(&h, &arena, views, held);
    return result;
}

static PyObject *harness_replay(PyObject *self, PyObject *args)
{
    (void)self;
    enum { N = ENGINE_BUFFERS + 6 };
    Py_ssize_t n_jobs, n_ops, n_acc, n_tasks;
    double unit_ns;
    int drops_allowed, has_tick;
    long long tick_units;
    PyObject *buffers;
    if (!PyArg_ParseTuple(args, "nnnndppLO!", &n_jobs, &n_ops, &n_acc, &n_tasks, &unit_ns,
                          &drops_allowed, &has_tick, &tick_units, &PyTuple_Type, &buffers))
        return NULL;
#if FLT_EVAL_METHOD != 0
    return PyErr_Format(PyExc_ValueError, "float expressions are not evaluated in float here");
#endif
    if (n_jobs < 0 || n_ops < 0 || n_acc < 1 || n_tasks < 1 || !(unit_ns > 0))
        return PyErr_Format(PyExc_ValueError, "bad counts");
    const BufferSpec specs[N] = {
        ENGINE_SPECS(n_jobs, n_ops, n_acc), {"latency", n_jobs * n_acc, -1, 0, 0},
        {"job_task", n_jobs, -1, 0, 0}, {"job_frame", n_jobs, -1, 0, 0},
        {"task_order", n_tasks, -1, 0, 0}, {"up_offsets", n_tasks + 1, -1, 1, 0},
        {"ups", 0, ENGINE_BUFFERS + 4, 0, 0}};
    Py_buffer views[N];
    int held = 0;
    PyObject *result = NULL;
    Arena arena = {.count = 0};
    Replay h = {.policy = POLICY_HARNESS, .n_jobs = n_jobs, .n_ops = n_ops, .n_acc = n_acc,
                .n_tasks = n_tasks, .unit_ns = unit_ns, .drops_allowed = drops_allowed,
                .has_tick = has_tick};
    if (parse_buffers(buffers, views, &held, N, specs) < 0)
        goto done;
    engine_views(&h, views);
    h.latency = views[ENGINE_BUFFERS].buf;
    h.job_task = views[ENGINE_BUFFERS + 1].buf;
    h.job_frame = views[ENGINE_BUFFERS + 2].buf;
    h.task_order = views[ENGINE_BUFFERS + 3].buf;
    h.up_offsets = views[ENGINE_BUFFERS + 4].buf;
    h.ups = views[ENGINE_BUFFERS + 5].buf;
    if (engine_setup(&h, &arena) < 0 ||
        check_range(h.job_task, n_jobs, n_tasks, "job_task") < 0 ||
        check_range(h.task_order, n_tasks, n_tasks, "task_order") < 0 ||
        check_range(h.ups, h.up_offsets[n_tasks], n_tasks, "ups") < 0)
        goto done;
    float *ms_values = arena_alloc(&arena, 2 * n_jobs, sizeof(float));
    Entry *entries = arena_alloc(&arena, 2 * n_jobs, sizeof(Entry));
    Sorted *lists = arena_alloc(&arena, 2 * n_tasks, sizeof(Sorted));
    if (!ms_values || !entries || !lists ||
        !(h.home = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(h.completions = arena_alloc(&arena, n_tasks, sizeof(int64_t))) ||
        !(h.owner = arena_alloc(&arena, n_acc, sizeof(int64_t))) ||
        !(h.free_accs = arena_alloc(&arena, n_acc, sizeof(int64_t))) ||
        !(h.run_job = arena_alloc(&arena, n_acc, sizeof(int64_t))) ||
        !(h.run_completion = arena_alloc(&arena, n_acc, sizeof(float))) ||
        !(h.gone = arena_alloc(&arena, n_jobs, 1)) ||
        !(h.done = arena_alloc(&arena, n_jobs, 1)))
        goto done;
    /* the harness's float32 milliseconds of every release and deadline */
    for (Py_ssize_t job = 0; job < n_jobs; job++) {
        ms_values[job] = ms(&h, h.release[job]);
        ms_values[n_jobs + job] = ms(&h, h.deadline[job]);
        h.home[job] = -1;
    }
    h.release_ms = ms_values;
    h.deadline_ms = ms_values + n_jobs;
    h.tick = has_tick ? ms(&h, tick_units) : 0.0f;
    /* per task, a region of as many entries as it has jobs, for its pending list and queue */
    h.pending = lists;
    h.queues = lists + n_tasks;
    Py_ssize_t start = 0;
    for (Py_ssize_t task = 0; task < n_tasks; task++) {
        h.pending[task].items = entries + start;
        h.queues[task].items = entries + n_jobs + start;
        for (Py_ssize_t job = 0; job < n_jobs; job++)
            start += h.job_task[job] == task;
    }
    for (Py_ssize_t acc = 0; acc < n_acc; acc++)
        h.owner[acc] = h.run_job[acc] = -1;
    h.has_next = 1; /* the first event is at 0 ms */
    result = run_and_report(&h);
done:
    release_all(&h, &arena, views, held);
    return result;
}

static PyObject *dream_replay(PyObject *self, PyObject *args)
{
    (void)self;
    enum { N = ENGINE_BUFFERS + 6 };
    Py_ssize_t n_jobs, n_ops, n_acc;
    double epsilon, lam, alpha, beta;
    int proactive_drop, drops_allowed;
    long long window;
    PyObject *on_window, *buffers;
    if (!PyArg_ParseTuple(args, "nnnddddppLOO!", &n_jobs, &n_ops, &n_acc, &epsilon, &lam,
                          &alpha, &beta, &proactive_drop, &drops_allowed, &window, &on_window,
                          &PyTuple_Type, &buffers))
        return NULL;
    if (n_jobs < 0 || n_ops < 0 || n_acc < 1 || !PyCallable_Check(on_window))
        return PyErr_Format(PyExc_ValueError, "bad counts or on_window");
    if (!(lam == 0.0 || lam == 0.5 || lam == 1.0 || lam == 2.0))
        return PyErr_Format(PyExc_ValueError, "lam must be 0, 0.5, 1 or 2 in the core");
    const Py_ssize_t cells = n_ops * n_acc;
    const BufferSpec specs[N] = {
        ENGINE_SPECS(n_jobs, n_ops, n_acc), {"predicted", cells, -1, 0, 0},
        {"op_latency", cells, -1, 0, 0}, {"op_energy", cells, -1, 0, 0},
        {"op_energy_nj", cells, -1, 0, 0}, {"period", n_jobs, -1, 0, 0},
        {"window_left", 3, -1, 0, 1}};
    Py_buffer views[N];
    int held = 0;
    PyObject *result = NULL;
    Arena arena = {.count = 0};
    Replay h = {.policy = POLICY_DREAM, .n_jobs = n_jobs, .n_ops = n_ops, .n_acc = n_acc,
                .drops_allowed = drops_allowed, .proactive_drop = proactive_drop,
                .epsilon = epsilon, .lam = lam, .alpha = alpha, .beta = beta,
                .window = window, .on_window = on_window};
    if (parse_buffers(buffers, views, &held, N, specs) < 0)
        goto done;
    engine_views(&h, views);
    h.predicted = views[ENGINE_BUFFERS].buf;
    h.op_latency = views[ENGINE_BUFFERS + 1].buf;
    h.op_energy = views[ENGINE_BUFFERS + 2].buf;
    h.op_energy_nj = views[ENGINE_BUFFERS + 3].buf;
    h.period = views[ENGINE_BUFFERS + 4].buf;
    int64_t *window_left = views[ENGINE_BUFFERS + 5].buf;
    if (engine_setup(&h, &arena) < 0)
        goto done;
    if (!(h.rest_latency = arena_alloc(&arena, n_jobs * n_acc, sizeof(double))) ||
        !(h.rest_energy = arena_alloc(&arena, n_jobs * n_acc, sizeof(double))) ||
        !(h.scores = arena_alloc(&arena, n_jobs * n_acc, sizeof(double))) ||
        !(h.cell_latency = arena_alloc(&arena, n_jobs * n_acc, sizeof(double))) ||
        !(h.flight_end = arena_alloc(&arena, n_ops, sizeof(int64_t))) ||
        !(h.flight_next = arena_alloc(&arena, n_ops, sizeof(int64_t))) ||
        !(h.flight_prev = arena_alloc(&arena, n_ops, sizeof(int64_t))) ||
        !(h.flight_head = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(h.last_end = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(h.candidates = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(h.in_flight = arena_alloc(&arena, n_ops, 1)) ||
        !(h.charged = arena_alloc(&arena, n_ops, 1)) ||
        !(h.has_last_end = arena_alloc(&arena, n_jobs, 1)) ||
        !(h.is_idle = arena_alloc(&arena, n_acc, 1)))
        goto done;
    for (Py_ssize_t job = 0; job < n_jobs; job++)
        h.flight_head[job] = -1;
    result = run_and_report(&h);
    window_left[0] = h.energy_nj;
    window_left[1] = h.ended;
    window_left[2] = h.missed;
done:
    release_all(&h, &arena, views, held);
    return result;
}

static PyObject *heap_replay(PyObject *self, PyObject *args)
{
    (void)self;
    enum { N = ENGINE_BUFFERS + 1 };
    Py_ssize_t n_jobs, n_ops, n_acc;
    int edf;
    PyObject *buffers;
    if (!PyArg_ParseTuple(args, "nnnpO!", &n_jobs, &n_ops, &n_acc, &edf, &PyTuple_Type,
                          &buffers))
        return NULL;
    if (n_jobs < 0 || n_ops < 0 || n_acc < 1)
        return PyErr_Format(PyExc_ValueError, "bad counts");
    const BufferSpec specs[N] = {ENGINE_SPECS(n_jobs, n_ops, n_acc),
                                 {"predicted", n_ops * n_acc, -1, 0, 0}};
    Py_buffer views[N];
    int held = 0;
    PyObject *result = NULL;
    Arena arena = {.count = 0};
    Replay h = {.policy = edf ? POLICY_EDF : POLICY_FCFS, .n_jobs = n_jobs, .n_ops = n_ops,
                .n_acc = n_acc};
    if (parse_buffers(buffers, views, &held, N, specs) < 0)
        goto done;
    engine_views(&h, views);
    h.predicted = views[ENGINE_BUFFERS].buf;
    if (engine_setup(&h, &arena) < 0 ||
        !(h.job_key = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(h.job_key2 = arena_alloc(&arena, n_jobs, sizeof(int64_t))) ||
        !(h.idle = arena_alloc(&arena, n_acc, sizeof(int64_t))))
        goto done;
    result = run_and_report(&h);
done:
    release_all(&h, &arena, views, held);
    return result;
}

static PyMethodDef methods[] = {
    {"dysta_job_picks", dysta_job_picks, METH_VARARGS,
     "dysta_job_picks(rule, alpha, seconds, beta, gamma, n_jobs, n_ops, buffers) -> "
     "(decisions, clock)\n\n"
     "buffers: release, deadline, priority, offsets, arrivals, duration, per_op, sparsity, "
     "sparsity_mean, op_start, op_end. "
     "Replay the Dysta loop with a job-picking rule (0 PREMA, 1 Planaria, 2 SDRM3, 3 the Dysta "
     "key); fills op_start and op_end. Every buffer holds 8-byte integers but the sparsities "
     "(doubles, empty unless gamma is on)."},
    {"event_job_picks", event_job_picks, METH_VARARGS,
     "event_job_picks(rule, seconds, beta, gamma, n_jobs, n_ops, n_acc, buffers) -> (status, "
     "decisions, dispatches, clock)\n\n"
     "Replay the event loop with the Dysta key (rule 3). buffers: the engine's (release, "
     "deadline, offsets, n_upstream, down_offsets, downs, op_job, n_preds, succ_offsets, succs, "
     "durations; op_start, op_end, op_acc, job_visible, job_completion, job_drop_time, "
     "job_status), then predicted, per_op, sparsity, sparsity_mean. status 0: done; -1: "
     "unfinished jobs with nothing left to happen; -2: a step the stepped replay rejects."},
    {"harness_replay", harness_replay, METH_VARARGS,
     "harness_replay(n_jobs, n_ops, n_acc, n_tasks, unit_ns, drops_allowed, has_tick, "
     "tick_units, buffers) -> (status, decisions, dispatches, clock)\n\n"
     "Replay the XRBench harness policy on the event loop. buffers: the engine's (as for "
     "event_job_picks), then latency, job_task, job_frame, task_order, up_offsets, ups."},
    {"dream_replay", dream_replay, METH_VARARGS,
     "dream_replay(n_jobs, n_ops, n_acc, epsilon, lam, alpha, beta, proactive_drop, "
     "drops_allowed, window, on_window, buffers) -> (status, decisions, dispatches, clock)\n\n"
     "Replay DREAM (one variant per task) on the event loop; on_window(now, energy_nj, ended, "
     "missed) closes a tuner window and returns the weights (alpha, beta). buffers: the "
     "engine's (as for event_job_picks), then predicted, op_latency, op_energy, op_energy_nj, "
     "period, window_left (the open window's energy, ended and missed jobs at the end)."},
    {"heap_replay", heap_replay, METH_VARARGS,
     "heap_replay(n_jobs, n_ops, n_acc, edf, buffers) -> (status, decisions, dispatches, "
     "clock)\n\n"
     "Replay FCFS or EDF (edf true) on the event loop. buffers: the engine's (as for "
     "event_job_picks), then predicted."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "native", "The engine's compiled core (rtmm_opt.engine.core).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_native(void)
{
    PyObject *core = PyModule_Create(&module);
    if (core != NULL && PyModule_AddStringConstant(core, "SOURCE", RTMM_CORE_SOURCE) < 0) {
        Py_DECREF(core);
        return NULL;
    }
    return core;
}
