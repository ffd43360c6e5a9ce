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

/* _DystaKey.job_keys, and decide's pick: the smallest key, the first of equal ones */
static int64_t pick_dysta(Loop *loop, int64_t now)
{
    double scale = loop->seconds, best = 0.0, n_active = (double)loop->n_active;
    int64_t pick = -1;
    for (Py_ssize_t i = 0; i < loop->n_active; i++) {
        int64_t job = loop->active[i];
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
        double key = predicted + loop->beta * (urgency + penalty);
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

static PyObject *dysta_job_picks(PyObject *self, PyObject *args)
{
    (void)self;
    int rule, gamma;
    double alpha, seconds, beta;
    Py_ssize_t n_jobs, n_ops;
    PyObject *objects[11];
    static const char *names[11] = {"release", "deadline", "priority", "offsets",
                                    "arrivals", "duration", "per_op", "sparsity",
                                    "sparsity_mean", "op_start", "op_end"};
    if (!PyArg_ParseTuple(args, "idddpnnOOOOOOOOOOO", &rule, &alpha, &seconds, &beta, &gamma,
                          &n_jobs, &n_ops, &objects[0], &objects[1], &objects[2], &objects[3],
                          &objects[4], &objects[5], &objects[6], &objects[7], &objects[8],
                          &objects[9], &objects[10]))
        return NULL;
    if (rule < RULE_PREMA || rule > RULE_DYSTA)
        return PyErr_Format(PyExc_ValueError, "unknown rule %d", rule);
    if (n_jobs < 0 || n_ops < 0)
        return PyErr_Format(PyExc_ValueError, "negative counts");
    Py_buffer views[11];
    int held = 0;
    PyObject *result = NULL;
    Loop loop = {.rule = rule, .alpha = alpha, .seconds = seconds, .beta = beta,
                 .gamma = rule == RULE_DYSTA && gamma, .n_jobs = n_jobs, .n_ops = n_ops};
    void *memory = NULL;
    /* release, deadline, priority, arrivals: per job; offsets: per job + 1; the rest per op,
     * but the sparsities are read (and needed) only with gamma */
    for (int i = 0; i < 11; i++) {
        Py_ssize_t length = i == 3 ? n_jobs + 1 : (i < 5 ? n_jobs : n_ops);
        if ((i == 7 || i == 8) && !loop.gamma)
            length = 0;
        if (get_buffer(objects[i], &views[i], length, i >= 9, names[i]) < 0)
            goto done;
        held = i + 1;
    }
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
    for (Py_ssize_t job = 0; job < n_jobs; job++) {
        int64_t first = loop.offsets[job], end = loop.offsets[job + 1];
        if (first < 0 || end <= first || end > n_ops) {
            PyErr_Format(PyExc_ValueError, "job %zd has no ops or ops out of range", job);
            goto done;
        }
        if (loop.arrivals[job] < 0 || loop.arrivals[job] >= n_jobs) {
            PyErr_Format(PyExc_ValueError, "arrival %zd is not a job", job);
            goto done;
        }
    }
    /* per job: 5 int64 arrays and the queue, 3 double arrays, 2 flags */
    size_t n = (size_t)loop.n_jobs;
    memory = PyMem_Calloc(n ? n : 1, 6 * sizeof(int64_t) + 3 * sizeof(double) + 2);
    if (memory == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *words = memory;
    loop.next_op = words;
    loop.remaining = words + n;
    loop.total = words + 2 * n;
    loop.last_progress = words + 3 * n;
    loop.active = words + 4 * n;
    loop.ratio_count = words + 5 * n;
    loop.token = (double *)(words + 6 * n);
    loop.score = loop.token + n;
    loop.ratio_sum = loop.score + n;
    loop.seen = (char *)(loop.ratio_sum + n);
    loop.fresh = loop.seen + n;
    for (Py_ssize_t job = 0; job < loop.n_jobs; job++) {
        int64_t work = 0;
        for (int64_t op = loop.offsets[job]; op < loop.offsets[job + 1]; op++)
            work += loop.per_op[op];
        loop.total[job] = work;
    }
    int64_t clock = 0;
    Py_ssize_t decisions;
    Py_BEGIN_ALLOW_THREADS
    decisions = run(&loop, &clock);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("nL", decisions, (long long)clock);
done:
    PyMem_Free(memory);
    for (int i = 0; i < held; i++)
        PyBuffer_Release(&views[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"dysta_job_picks", dysta_job_picks, METH_VARARGS,
     "dysta_job_picks(rule, alpha, seconds, beta, gamma, n_jobs, n_ops, release, deadline, "
     "priority, offsets, arrivals, duration, per_op, sparsity, sparsity_mean, op_start, op_end)"
     " -> (decisions, clock)\n\n"
     "Replay the Dysta loop with a job-picking rule (0 PREMA, 1 Planaria, 2 SDRM3, 3 the Dysta "
     "key); fills op_start and op_end. Every buffer holds 8-byte integers but the sparsities "
     "(doubles, empty unless gamma is on)."},
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
