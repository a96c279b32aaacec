/* _linescan: the regular lines of Go coverprofiles, LCOV records and gcov text, read in C
 * (and the usual SimpleCov file, once json has loaded it).
 *
 * Each function reads what it fully understands and hands back flat data; for anything else it
 * returns None and the pure-Python parser (the reference) reads that part. A line table is the
 * tuple LineTable.from_arrays() takes: (lines int32, hits uint32, xlines int32, xhits int64,
 * covered int32, total int32, flags uint8) as bytes in native order, and the list of the missing
 * branch names of the x lines (joined by \x1f). Lines are in increasing order; lines outside
 * 1..2**31-1 are dropped, as LineTable.from_mapping() drops them.
 *
 * Numbers of 10**18 or more are left to Python (no overflow here); every read is bounded by
 * the buffer's end.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned char uc;

#define NUM_LIMIT 1000000000000000000LL /* 10**18 */
#define LINE_LIMIT 2147483647LL
#define PLAIN_LIMIT 4294967295LL
#define MAX_BLOCK_LINES 1000000 /* golang.MAX_BLOCK_LINES */
#define MAX_SPANNED 2000000 /* golang.MAX_FILE_LINES: past it, Python raises corrupt_report */
#define F_METHOD 1
#define F_BRANCHES 2
#define F_NAMED 4
#define SEP '\x1f'

/* --- growable buffers -------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static int buf_grow(Buf *b, size_t n) {
    if (n > SIZE_MAX / 4 - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    if (b->len + n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    char *p = PyMem_Realloc(b->data, cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

static int buf_put(Buf *b, const void *src, size_t n) {
    if (n == 0) return 0;
    if (buf_grow(b, n) < 0) return -1;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

static void buf_free(Buf *b) {
    PyMem_Free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static PyObject *buf_bytes(const Buf *b) {
    return PyBytes_FromStringAndSize(b->len ? b->data : "", (Py_ssize_t)b->len);
}

/* --- numbers and lines ------------------------------------------------------------------- */

/* The decimal digits at *p (at least one): their value, *p moved past them; -1 when there is no
 * digit or the value reaches 10**18. */
static int64_t number(const uc **p, const uc *end) {
    const uc *s = *p;
    int64_t v = 0;
    if (s >= end || *s < '0' || *s > '9') return -1;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (v >= NUM_LIMIT / 10) return -1;
        v = v * 10 + (*s - '0');
    }
    *p = s;
    return v;
}

static int is_digit(uc c) { return c >= '0' && c <= '9'; }

/* The end of the line starting at s (its newline, or end) */
static const uc *line_end(const uc *s, const uc *end) {
    const uc *e = memchr(s, '\n', (size_t)(end - s));
    return e == NULL ? end : e;
}

/* The line's end without one \r before it */
static const uc *strip_cr(const uc *s, const uc *e) { return (e > s && e[-1] == '\r') ? e - 1 : e; }

static int starts(const uc *s, const uc *e, const char *prefix) {
    size_t n = strlen(prefix);
    return (size_t)(e - s) >= n && memcmp(s, prefix, n) == 0;
}

/* --- line tables ------------------------------------------------------------------------- */

typedef struct {
    Buf lines, hits, xlines, xhits, covered, total, flags;
    PyObject *missing; /* list of str */
} Table;

static int table_init(Table *t) {
    memset(t, 0, sizeof *t);
    t->missing = PyList_New(0);
    return t->missing == NULL ? -1 : 0;
}

static void table_free(Table *t) {
    buf_free(&t->lines);
    buf_free(&t->hits);
    buf_free(&t->xlines);
    buf_free(&t->xhits);
    buf_free(&t->covered);
    buf_free(&t->total);
    buf_free(&t->flags);
    Py_CLEAR(t->missing);
}

/* One line, after the ones added before it. `missing`: ASCII names joined by SEP. */
static int table_add(Table *t, int64_t line, int64_t hits, int flags, int64_t covered, int64_t total,
                     const char *missing, size_t missing_len) {
    if (line <= 0 || line > LINE_LIMIT) return 0;
    int32_t number = (int32_t)line;
    if (hits < 0) hits = 0;
    if (flags == 0 && hits <= PLAIN_LIMIT) {
        uint32_t h = (uint32_t)hits;
        return (buf_put(&t->lines, &number, 4) < 0 || buf_put(&t->hits, &h, 4) < 0) ? -1 : 0;
    }
    int32_t c = (int32_t)covered, n = (int32_t)total;
    uint8_t f = (uint8_t)flags;
    if (buf_put(&t->xlines, &number, 4) < 0 || buf_put(&t->xhits, &hits, 8) < 0 || buf_put(&t->covered, &c, 4) < 0 ||
        buf_put(&t->total, &n, 4) < 0 || buf_put(&t->flags, &f, 1) < 0)
        return -1;
    PyObject *names = PyUnicode_DecodeASCII(missing_len ? missing : "", (Py_ssize_t)missing_len, "strict");
    if (names == NULL) return -1;
    int failed = PyList_Append(t->missing, names);
    Py_DECREF(names);
    return failed;
}

/* The table as a tuple for LineTable.from_arrays(); the table is emptied. */
static PyObject *table_tuple(Table *t) {
    PyObject *tuple = PyTuple_New(8);
    if (tuple == NULL) return NULL;
    Buf *parts[7] = {&t->lines, &t->hits, &t->xlines, &t->xhits, &t->covered, &t->total, &t->flags};
    for (int i = 0; i < 7; i++) {
        PyObject *item = buf_bytes(parts[i]);
        if (item == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, i, item);
    }
    PyTuple_SET_ITEM(tuple, 7, t->missing);
    t->missing = NULL;
    return tuple;
}

/* --- sorting ----------------------------------------------------------------------------- */

typedef struct {
    int64_t line, value;
} Pair;

static int pair_cmp(const void *a, const void *b) {
    int64_t x = ((const Pair *)a)->line, y = ((const Pair *)b)->line;
    return (x > y) - (x < y);
}

/* Names kept in one arena, referred to by offset: `arena` is the base while a sort runs (the
 * GIL is held throughout a call). */
static const char *arena;

typedef struct {
    int64_t line, value; /* value: taken (BRDA), hits (FNDA) or line (FN) */
    size_t name, name_len, seq;
} Named;

static int name_cmp(const Named *a, const Named *b) {
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(arena + a->name, arena + b->name, n);
    if (c != 0) return c;
    return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static int seq_cmp(const Named *a, const Named *b) { return (a->seq > b->seq) - (a->seq < b->seq); }

static int line_name_seq_cmp(const void *pa, const void *pb) {
    const Named *a = pa, *b = pb;
    if (a->line != b->line) return (a->line > b->line) - (a->line < b->line);
    int c = name_cmp(a, b);
    return c != 0 ? c : seq_cmp(a, b);
}

static int name_seq_cmp(const void *pa, const void *pb) {
    const Named *a = pa, *b = pb;
    int c = name_cmp(a, b);
    return c != 0 ? c : seq_cmp(a, b);
}

/* Branch indices compared as decimal text ("10" < "2"), as sorted() orders their str names */
static int index_text_cmp(const void *pa, const void *pb) {
    char x[24], y[24];
    snprintf(x, sizeof x, "%lld", (long long)*(const int64_t *)pa);
    snprintf(y, sizeof y, "%lld", (long long)*(const int64_t *)pb);
    return strcmp(x, y);
}

/* Sort pairs by line, then merge equal lines keeping the highest value; the new count. */
static size_t sort_merge_max(Pair *pairs, size_t n) {
    size_t i, out = 0;
    for (i = 1; i < n && pairs[i - 1].line < pairs[i].line; i++) {
    }
    if (i < n) qsort(pairs, n, sizeof *pairs, pair_cmp);
    for (i = 0; i < n; i++) {
        if (out > 0 && pairs[out - 1].line == pairs[i].line) {
            if (pairs[i].value > pairs[out - 1].value) pairs[out - 1].value = pairs[i].value;
        } else {
            pairs[out++] = pairs[i];
        }
    }
    return out;
}

/* --- Go ---------------------------------------------------------------------------------- */

/* A block line `<path>:<l>.<c>,<l>.<c> <n> <count>` ([s, e) without its line end): 1 with the
 * six numbers and the path's end; 0 for a line the reference skips for sure (no colon followed
 * by a digit, so its block pattern cannot match); -1 for anything else. */
static int go_line(const uc *s, const uc *e, int64_t v[6], const uc **colon) {
    const uc *c = e;
    while (c > s && c[-1] != ':') c--;
    if (c > s + 1) {
        const uc *p = c;
        static const char seps[6] = {'.', ',', '.', ' ', ' ', 0};
        int i;
        for (i = 0; i < 6; i++) {
            if ((v[i] = number(&p, e)) < 0) break;
            if (i < 5 && (p >= e || *p != (uc)seps[i])) break;
            if (i < 5) p++;
        }
        if (i == 6 && p == e) {
            *colon = c - 1;
            return 1;
        }
    }
    for (const uc *p = s; p + 1 < e; p++)
        if (*p == ':' && is_digit(p[1])) return -1;
    return 0;
}

static int go_flush(PyObject *runs, const uc *path, size_t path_len, Buf *numbers) {
    PyObject *run = Py_BuildValue("(y#y#)", (const char *)path, (Py_ssize_t)path_len, numbers->data,
                                  (Py_ssize_t)numbers->len);
    if (run == NULL) return -1;
    int failed = PyList_Append(runs, run);
    Py_DECREF(run);
    numbers->len = 0;
    return failed;
}

PyDoc_STRVAR(go_runs_doc,
             "go_runs(buffer) -> list[tuple[bytes, bytes]] | None\n\n"
             "The block lines of whole lines of a Go coverprofile: (path, six int64 per block) per run of\n"
             "one path's lines. None when a line is not plainly a block line or a line the block pattern\n"
             "skips.");

static PyObject *go_runs(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const uc *s = view.buf, *end = s + view.len, *path = NULL;
    size_t path_len = 0;
    Buf numbers = {0};
    PyObject *runs = PyList_New(0);
    int status = runs == NULL ? -1 : 0;
    while (status == 0 && s < end) {
        const uc *e = line_end(s, end), *colon = NULL;
        int64_t v[6];
        int kind = go_line(s, strip_cr(s, e), v, &colon);
        if (kind < 0) {
            status = 1;
        } else if (kind == 1) {
            size_t len = (size_t)(colon - s);
            if (path != NULL && (len != path_len || memcmp(path, s, len) != 0))
                status = go_flush(runs, path, path_len, &numbers);
            path = s;
            path_len = len;
            if (status == 0) status = buf_put(&numbers, v, sizeof v);
        }
        s = e < end ? e + 1 : end;
    }
    if (status == 0 && path != NULL) status = go_flush(runs, path, path_len, &numbers);
    buf_free(&numbers);
    PyBuffer_Release(&view);
    if (status != 0) Py_CLEAR(runs);
    if (status == 1) Py_RETURN_NONE;
    return runs;
}

/* A line spanned by a block: the block is named by where it starts ("<line>.<column>") */
typedef struct {
    int64_t line, start, column, count;
} Span;

static int span_cmp(const void *pa, const void *pb) {
    const Span *a = pa, *b = pb;
    if (a->line != b->line) return (a->line > b->line) - (a->line < b->line);
    if (a->start != b->start) return (a->start > b->start) - (a->start < b->start);
    return (a->column > b->column) - (a->column < b->column);
}

static int text_cmp(const void *a, const void *b) { return strcmp(a, b); }

/* The lines spanned[0:n] (sorted) of one line number: golang.py's _by_block() for it. A line
 * in one block takes its highest count; a line in several records them as branches, those
 * never run missing, named by block start. */
static int go_line_of_blocks(Table *t, const Span *spans, size_t n) {
    size_t blocks = 0, missing = 0;
    int64_t hits = 0, best = -1; /* best: the highest count of the block read */
    char(*names)[48] = PyMem_Malloc(n * sizeof *names);
    Buf joined = {0};
    if (names == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (spans[i].count > best) best = spans[i].count;
        if (i + 1 < n && spans[i + 1].start == spans[i].start && spans[i + 1].column == spans[i].column) continue;
        blocks++; /* the block's last span */
        if (best > hits) hits = best;
        if (best == 0)
            snprintf(names[missing++], sizeof *names, "%lld.%lld", (long long)spans[i].start,
                     (long long)spans[i].column);
        best = -1;
    }
    int status = 0;
    if (blocks == 1) {
        status = table_add(t, spans[0].line, hits, 0, 0, 0, NULL, 0);
    } else {
        qsort(names, missing, sizeof *names, text_cmp);
        for (size_t i = 0; i < missing && status == 0; i++)
            status = (i > 0 && buf_put(&joined, "\x1f", 1) < 0) || buf_put(&joined, names[i], strlen(names[i])) < 0;
        if (status == 0)
            status = table_add(t, spans[0].line, hits, F_BRANCHES | F_NAMED, (int64_t)(blocks - missing),
                               (int64_t)blocks, joined.data, joined.len);
    }
    PyMem_Free(names);
    buf_free(&joined);
    return status ? -1 : 0;
}

PyDoc_STRVAR(go_table_doc,
             "go_table(numbers) -> line table | None\n\n"
             "The line table of one file's blocks (go_runs() numbers, joined), as golang.py's _file()\n"
             "makes it. None when a block is too long (Python raises), a count is 2**32 or more or no\n"
             "line is spanned.");

static PyObject *go_table(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const char *data = view.buf;
    size_t blocks = (size_t)view.len / sizeof(int64_t[6]);
    int64_t spanned = 0;
    Span *spans = NULL;
    PyObject *result = NULL;
    int none = (size_t)view.len % sizeof(int64_t[6]) != 0;
    for (size_t i = 0; !none && i < blocks; i++) {
        int64_t v[6];
        memcpy(v, data + i * sizeof v, sizeof v);
        int64_t start = v[0], end_line = v[2], end_col = v[3], count = v[5];
        /* go_runs() numbers are in 0..10**18-1: anything else is no block of it (and could overflow below) */
        if (start < 0 || start >= NUM_LIMIT || end_line < 0 || end_line >= NUM_LIMIT || count < 0 || count > PLAIN_LIMIT ||
            end_line - start > MAX_BLOCK_LINES) {
            none = 1;
            break;
        }
        int64_t stop = end_line + (end_col > 2), least = start + (start == end_line);
        if (stop < least) stop = least;
        if (stop > start) spanned += stop - start;
        if (spanned > MAX_SPANNED) none = 1;
    }
    if (none || spanned == 0) goto done;
    spans = PyMem_Malloc((size_t)spanned * sizeof *spans);
    if (spans == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    size_t n = 0;
    for (size_t i = 0; i < blocks; i++) {
        int64_t v[6];
        memcpy(v, data + i * sizeof v, sizeof v);
        int64_t start = v[0], end_line = v[2], end_col = v[3];
        int64_t stop = end_line + (end_col > 2), least = start + (start == end_line);
        if (stop < least) stop = least;
        for (int64_t line = start; line < stop; line++) spans[n++] = (Span){line, start, v[1], v[5]};
    }
    size_t k;
    for (k = 1; k < n && spans[k - 1].line < spans[k].line; k++) {
    }
    int shared = k < n; /* a line in two blocks (or blocks out of order) */
    if (shared) qsort(spans, n, sizeof *spans, span_cmp);
    Table table;
    if (table_init(&table) < 0) goto done;
    /* room for every line as a plain one, at once */
    int failed = buf_grow(&table.lines, n * sizeof(int32_t)) < 0 || buf_grow(&table.hits, n * sizeof(uint32_t)) < 0;
    for (k = 0; k < n && !failed;) {
        size_t same = 1;
        while (shared && k + same < n && spans[k + same].line == spans[k].line) same++;
        /* the usual profile, no line in two blocks: a line takes its block's count */
        failed = same == 1 ? table_add(&table, spans[k].line, spans[k].count, 0, 0, 0, NULL, 0)
                           : go_line_of_blocks(&table, spans + k, same);
        k += same;
    }
    if (!failed) result = table_tuple(&table);
    table_free(&table);
done:
    PyMem_Free(spans);
    PyBuffer_Release(&view);
    if (result == NULL && !PyErr_Occurred()) Py_RETURN_NONE;
    return result;
}

/* --- LCOV -------------------------------------------------------------------------------- */

typedef struct {
    Buf da, arms, starts, calls; /* Pair, Named, Named, Named */
    Buf names;                   /* the arena */
} Record;

static void record_free(Record *r) {
    buf_free(&r->da);
    buf_free(&r->arms);
    buf_free(&r->starts);
    buf_free(&r->calls);
    buf_free(&r->names);
}

/* Printable ASCII but a comma, from *p to the next comma or e: its end, or NULL. `function`:
 * also not empty and no space at either end (lcov.py's _FUNCTION). */
static const uc *lcov_name(const uc *p, const uc *e, int function) {
    const uc *s = p;
    while (p < e && *p != ',') {
        if (*p < 0x20 || *p > 0x7e) return NULL;
        p++;
    }
    if (function && (p == s || *s == ' ' || p[-1] == ' ')) return NULL;
    return p;
}

static int put_named(Buf *list, Buf *names, int64_t line, int64_t value, const uc *a, size_t a_len, const uc *b,
                     size_t b_len) {
    Named item = {line, value, names->len, a_len + (b ? 1 + b_len : 0), list->len / sizeof(Named)};
    if (buf_put(names, a, a_len) < 0) return -1;
    if (b != NULL && (buf_put(names, ":", 1) < 0 || buf_put(names, b, b_len) < 0)) return -1;
    return buf_put(list, &item, sizeof item);
}

/* One line of a record ([s, e), no line end): 0 when read, 1 when not plain, -1 on error. */
static int lcov_line(Record *r, const uc *s, const uc *e) {
    static const char *const ignored[] = {"TN:", "LF:", "LH:", "FNF:", "FNH:", "BRF:", "BRH:"};
    const uc *p;
    int64_t line, value;
    if (s == e) return 0;
    if (starts(s, e, "DA:")) {
        p = s + 3;
        if ((line = number(&p, e)) < 0 || p >= e || *p++ != ',' || (value = number(&p, e)) < 0 || p != e) return 1;
        Pair pair = {line, value};
        return buf_put(&r->da, &pair, sizeof pair);
    }
    if (starts(s, e, "BRDA:")) {
        p = s + 5;
        if ((line = number(&p, e)) < 0 || p >= e || *p++ != ',') return 1;
        const uc *block = p, *block_end = lcov_name(p, e, 0);
        if (block_end == NULL || block_end >= e) return 1;
        const uc *branch = block_end + 1, *branch_end = lcov_name(branch, e, 0);
        if (branch_end == NULL || branch_end >= e) return 1;
        const uc *taken = branch_end + 1;
        int ran;
        if (e - taken == 1 && *taken == '-') {
            ran = 0;
        } else {
            for (p = taken; p < e; p++)
                if (!is_digit(*p)) return 1;
            if (taken == e) return 1;
            ran = !(e - taken == 1 && *taken == '0');
        }
        return put_named(&r->arms, &r->names, line, ran, block, (size_t)(block_end - block), branch,
                         (size_t)(branch_end - branch));
    }
    int fn = starts(s, e, "FN:"), fnda = starts(s, e, "FNDA:");
    if (fn || fnda) {
        p = s + (fn ? 3 : 5);
        if ((value = number(&p, e)) < 0 || p >= e || *p++ != ',') return 1;
        const uc *name_end = lcov_name(p, e, 1);
        if (name_end != e) return 1;
        return put_named(fn ? &r->starts : &r->calls, &r->names, 0, value, p, (size_t)(e - p), NULL, 0);
    }
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++)
        if (starts(s, e, ignored[i])) return 0;
    return 1;
}

typedef struct {
    int64_t line, covered, total;
    size_t missing, missing_len; /* in the missing names' buffer */
} BranchLine;

/* The branches per line (a name stated twice: its last statement); 0, or -1 on error. */
static int lcov_branches(Record *r, Buf *out, Buf *missing) {
    Named *arms = (Named *)r->arms.data;
    size_t n = r->arms.len / sizeof(Named);
    arena = r->names.data;
    if (n > 1) qsort(arms, n, sizeof *arms, line_name_seq_cmp); /* arms is NULL when n == 0 */
    size_t i = 0;
    while (i < n) {
        BranchLine line = {arms[i].line, 0, 0, missing->len, 0};
        for (; i < n && arms[i].line == line.line; i++) {
            if (i + 1 < n && arms[i + 1].line == line.line && name_cmp(&arms[i], &arms[i + 1]) == 0) continue;
            line.total++;
            if (arms[i].value) {
                line.covered++;
            } else {
                if (missing->len > line.missing && buf_put(missing, "\x1f", 1) < 0) return -1;
                if (buf_put(missing, arena + arms[i].name, arms[i].name_len) < 0) return -1;
            }
        }
        line.missing_len = missing->len - line.missing;
        if (line.total > LINE_LIMIT) return 1;
        if (buf_put(out, &line, sizeof line) < 0) return -1;
    }
    return 0;
}

/* The functions' start lines with their highest call count, merged per line; 0, or -1. */
static int lcov_methods(Record *r, Buf *out) {
    Named *fns = (Named *)r->starts.data, *calls = (Named *)r->calls.data;
    size_t n = r->starts.len / sizeof(Named), m = r->calls.len / sizeof(Named), j = 0;
    arena = r->names.data;
    if (n > 1) qsort(fns, n, sizeof *fns, name_seq_cmp);
    if (m > 1) qsort(calls, m, sizeof *calls, name_seq_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && name_cmp(&fns[i], &fns[i + 1]) == 0) continue; /* FN stated twice: the last */
        while (j < m && name_cmp(&calls[j], &fns[i]) < 0) j++;
        int64_t hits = 0;
        for (size_t k = j; k < m && name_cmp(&calls[k], &fns[i]) == 0; k++)
            if (calls[k].value > hits) hits = calls[k].value;
        Pair method = {fns[i].value, hits};
        if (method.line > 0 && buf_put(out, &method, sizeof method) < 0) return -1;
    }
    return 0;
}

/* The record's lines merged as lcov.py's _Record.finish() merges them */
static int lcov_table(Table *t, Pair *da, size_t nd, BranchLine *br, size_t nb, Pair *fn, size_t nf,
                      const char *missing) {
    size_t i = 0, j = 0, k = 0;
    while (i < nd || j < nb || k < nf) {
        int64_t line = INT64_MAX;
        if (i < nd && da[i].line < line) line = da[i].line;
        if (j < nb && br[j].line < line) line = br[j].line;
        if (k < nf && fn[k].line < line) line = fn[k].line;
        int has_da = i < nd && da[i].line == line, has_br = j < nb && br[j].line == line;
        int has_fn = k < nf && fn[k].line == line;
        int64_t hits = has_da ? da[i].value : 0;
        BranchLine *b = has_br ? &br[j] : NULL;
        if (b != NULL && !has_da) hits = b->covered > 0;
        if (has_fn && fn[k].value > hits) hits = fn[k].value;
        int flags = (has_fn ? F_METHOD : 0) | (b != NULL ? F_BRANCHES | F_NAMED : 0);
        if (table_add(t, line, hits, flags, b ? b->covered : 0, b ? b->total : 0, b && b->missing_len ? missing + b->missing : NULL,
                      b ? b->missing_len : 0) < 0)
            return -1;
        i += has_da;
        j += has_br;
        k += has_fn;
    }
    return 0;
}

PyDoc_STRVAR(lcov_record_doc,
             "lcov_record(buffer, start, end) -> line table | None\n\n"
             "The lines of an LCOV record read as lcov.py reads them: buffer[start:end] are the lines\n"
             "between its SF line and its end_of_record line (newline-separated). None when a line is\n"
             "not one of the plain DA, BRDA, FN, FNDA lines or a summary line (TN, LF, LH, FNF, FNH,\n"
             "BRF, BRH).");

static PyObject *lcov_record(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "y*nn", &view, &start, &stop)) return NULL;
    if (start < 0 || stop < 0 || stop > view.len || start > stop + 1) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "lcov_record: bad range");
        return NULL;
    }
    if (start > stop) start = stop; /* an empty record: its SF line's newline is end_of_record's */
    const uc *s = (const uc *)view.buf + start, *end = (const uc *)view.buf + stop;
    Record r;
    memset(&r, 0, sizeof r);
    Buf branch_lines = {0}, missing = {0}, methods = {0};
    Table table;
    int status = table_init(&table);
    while (status == 0 && s < end) {
        const uc *e = line_end(s, end);
        status = lcov_line(&r, s, strip_cr(s, e));
        s = e < end ? e + 1 : end;
    }
    if (status == 0) status = lcov_branches(&r, &branch_lines, &missing);
    if (status == 0) status = lcov_methods(&r, &methods);
    if (status == 0) {
        Pair *fn = (Pair *)methods.data, *da = (Pair *)r.da.data;
        size_t nf = sort_merge_max(fn, methods.len / sizeof(Pair)), nd = sort_merge_max(da, r.da.len / sizeof(Pair));
        status = lcov_table(&table, da, nd, (BranchLine *)branch_lines.data, branch_lines.len / sizeof(BranchLine),
                            fn, nf, missing.data);
    }
    PyObject *result = status == 0 ? table_tuple(&table) : NULL;
    table_free(&table);
    record_free(&r);
    buf_free(&branch_lines);
    buf_free(&missing);
    buf_free(&methods);
    PyBuffer_Release(&view);
    if (status == 1) Py_RETURN_NONE;
    return result;
}

/* --- gcov -------------------------------------------------------------------------------- */

enum { G_SKIP, G_BRANCH, G_FUNCTION, G_ROW, G_IRREGULAR };

typedef struct {
    int64_t value;     /* G_BRANCH: taken (1/0); G_FUNCTION: calls; G_ROW: line number */
    const uc *field;   /* G_ROW: the count column */
    const uc *field_end;
    const uc *rest; /* G_ROW: after the line number's colon, to rest_end */
    const uc *rest_end;
} GcovLine;

/* A byte where Python's \s, \d or \S might read something ASCII does not say */
static int unsure(uc c) { return c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f; }

/* Blanks ([ \t]*) from *p: 1 when followed by an unsure byte, else 0 */
static int blanks(const uc **p, const uc *e) {
    while (*p < e && (**p == ' ' || **p == '\t')) (*p)++;
    return *p < e && unsure(**p);
}

/* `<word>[blank]+` at *p: 1 when there, 0 when not, -1 when unsure */
static int word_blanks(const uc **p, const uc *e, const char *word) {
    const uc *q = *p;
    size_t n = strlen(word);
    if ((size_t)(e - q) < n || memcmp(q, word, n) != 0) return 0;
    q += n;
    const uc *b = q;
    if (blanks(&q, e)) return -1;
    if (q == b) return q < e && unsure(*q) ? -1 : 0;
    *p = q;
    return 1;
}

/* Digits at *p as the pattern's \d+ reads them: the value, -1 none, -2 unsure or too large */
static int64_t gcov_digits(const uc **p, const uc *e) {
    if (*p < e && unsure(**p)) return -2;
    if (*p >= e || !is_digit(**p)) return -1;
    int64_t v = number(p, e);
    if (v < 0 || (*p < e && unsure(**p))) return -2;
    return v;
}

/* `branch N taken M` / `branch N never executed` (gcov.py's first alternative); G_SKIP when it is not */
static int gcov_branch(const uc *s, const uc *e, GcovLine *out) {
    const uc *p = s;
    int r = word_blanks(&p, e, "branch");
    if (r <= 0) return r < 0 ? G_IRREGULAR : G_SKIP;
    const uc *index = p;
    while (p < e && is_digit(*p)) p++; /* the branch's index: not needed */
    if (p < e && unsure(*p)) return G_IRREGULAR;
    if (p == index) return G_SKIP;
    const uc *b = p;
    if (blanks(&p, e)) return G_IRREGULAR;
    if (p == b) return p < e && unsure(*p) ? G_IRREGULAR : G_SKIP;
    if ((r = word_blanks(&p, e, "taken")) != 0) {
        if (r < 0) return G_IRREGULAR;
        const uc *digits = p;
        while (p < e && is_digit(*p)) p++; /* only whether the number is 0 matters: no overflow */
        if (p < e && unsure(*p)) return G_IRREGULAR;
        if (p == digits) return G_SKIP;
        int ran = 0;
        for (const uc *d = digits; d < p; d++) ran |= *d != '0';
        out->value = ran;
        return G_BRANCH;
    }
    if ((size_t)(e - p) >= 14 && memcmp(p, "never executed", 14) == 0) {
        out->value = 0;
        return G_BRANCH;
    }
    return G_SKIP;
}

/* `function NAME called N` (the second alternative) */
static int gcov_function(const uc *s, const uc *e, GcovLine *out) {
    const uc *p = s;
    int r = word_blanks(&p, e, "function");
    if (r <= 0) return r < 0 ? G_IRREGULAR : G_SKIP;
    const uc *name = p;
    while (p < e && *p > 0x20 && *p < 0x7f) p++;
    if (p < e && unsure(*p)) return G_IRREGULAR;
    if (p == name) return G_SKIP;
    const uc *b = p;
    if (blanks(&p, e)) return G_IRREGULAR;
    if (p == b) return G_SKIP;
    if ((r = word_blanks(&p, e, "called")) <= 0) return r < 0 ? G_IRREGULAR : G_SKIP;
    int64_t v = gcov_digits(&p, e);
    if (v < 0) return v == -2 ? G_IRREGULAR : G_SKIP;
    out->value = v;
    return G_FUNCTION;
}

/* One line ([s, e), no newline). A \r at its end can only be read as a blank there, where no
 * pattern needs one: dropped. */
static int gcov_line(const uc *s, const uc *e, GcovLine *out) {
    int kind;
    e = strip_cr(s, e);
    out->rest_end = e;
    if (starts(s, e, "branch") && (kind = gcov_branch(s, e, out)) != G_SKIP) return kind;
    if (starts(s, e, "function") && (kind = gcov_function(s, e, out)) != G_SKIP) return kind;
    /* `[blank]*([^:\s]+):[blank]*(\d+):` */
    const uc *p = s;
    if (blanks(&p, e)) return G_IRREGULAR;
    const uc *field = p;
    while (p < e && *p > 0x20 && *p < 0x7f && *p != ':') p++;
    if (p < e && *p != ':' && *p != ' ' && *p != '\t') return G_IRREGULAR;
    if (p == field || p >= e || *p != ':') return G_SKIP;
    out->field = field;
    out->field_end = p++;
    if (blanks(&p, e)) return G_IRREGULAR;
    int64_t v = gcov_digits(&p, e);
    if (v < 0) return v == -2 ? G_IRREGULAR : G_SKIP;
    if (p >= e || *p != ':') return G_SKIP;
    out->value = v;
    out->rest = p + 1;
    return G_ROW;
}

/* The count column: hits, -1 for `-` (not code), -2 for what is left to Python (gcov -H's 1.2k) */
static int64_t gcov_count(const uc *s, const uc *e) {
    while (e > s && e[-1] == '*') e--;
    if (e - s == 1 && *s == '-') return -1;
    const uc *p = s;
    int64_t v = number(&p, e);
    if (p == e && v >= 0) return v;
    if (e > s && is_digit(*s)) return -2; /* digits with more after them, or too large */
    if (e - s >= 2 && strchr("kMGT", e[-1]) != NULL) return -2;
    return 0; /* ##### and ===== (and any other mark) are 0, as gcov.py's _count() */
}

typedef struct {
    int64_t line, hits;
    int method, active; /* active: branch lines go to it */
    Buf taken;          /* one byte per branch */
} Pending;

/* The pending line is complete: into the table */
static int gcov_emit(Table *t, Pending *pending) {
    if (pending->line == 0) return 0;
    size_t total = pending->taken.len;
    int status;
    if (total == 0) {
        status = table_add(t, pending->line, pending->hits, pending->method ? F_METHOD : 0, 0, 0, NULL, 0);
    } else { /* the branches replace the line's coverage, its hits kept (gcov.py's _Branches.flush) */
        int64_t *idx = PyMem_Malloc(total * sizeof *idx);
        Buf names = {0};
        size_t n = 0;
        if (idx == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t i = 0; i < total; i++)
            if (!pending->taken.data[i]) idx[n++] = (int64_t)i;
        qsort(idx, n, sizeof *idx, index_text_cmp);
        status = 0;
        for (size_t i = 0; i < n && status == 0; i++) {
            char text[24];
            int len = snprintf(text, sizeof text, "%s%lld", i ? "\x1f" : "", (long long)idx[i]);
            status = buf_put(&names, text, (size_t)len);
        }
        if (status == 0)
            status = table_add(t, pending->line, pending->hits, F_BRANCHES | F_NAMED, (int64_t)(total - n),
                               (int64_t)total, names.data, names.len);
        PyMem_Free(idx);
        buf_free(&names);
    }
    pending->line = 0;
    pending->taken.len = 0;
    return status;
}

PyDoc_STRVAR(gcov_chunk_doc,
             "gcov_chunk(buffer, final, function_hits, last_line) -> (cut, source, function_hits, last_line, table) | None\n\n"
             "gcov text read as gcov.py reads it, up to `cut`: the start of the last source row unless\n"
             "`final` (what comes after it goes with the next chunk). function_hits: a `function ...\n"
             "called N` waiting for its line (-1: none); last_line: the last line read, each line must\n"
             "come after it. source: what follows the last `Source:` read, or None. None when a line is\n"
             "irregular (a line number again or out of order, 1.2k counts, bytes the patterns might read\n"
             "otherwise, no row to cut at).");

static PyObject *gcov_chunk(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    int final;
    long long function_hits, last_line;
    if (!PyArg_ParseTuple(args, "y*pLL", &view, &final, &function_hits, &last_line)) return NULL;
    const uc *base = view.buf, *end = base + view.len, *s, *cut = end, *source = NULL, *source_end = NULL;
    GcovLine line;
    int status = 0;
    if (!final) { /* the last source row, looking back line by line */
        cut = NULL;
        for (const uc *e = end; e > base && cut == NULL;) {
            const uc *b = e;
            if (b > base && b[-1] == '\n') b--;
            const uc *start = b;
            while (start > base && start[-1] != '\n') start--;
            int kind = gcov_line(start, b, &line);
            if (kind == G_IRREGULAR) break;
            if (kind == G_ROW) cut = start;
            e = start;
        }
        if (cut == NULL || cut == base) {
            PyBuffer_Release(&view);
            Py_RETURN_NONE;
        }
    }
    Table table;
    Pending pending;
    memset(&pending, 0, sizeof pending);
    if (table_init(&table) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    for (s = base; status == 0 && s < cut;) {
        const uc *e = line_end(s, cut);
        int kind = gcov_line(s, e, &line);
        s = e < cut ? e + 1 : cut;
        if (kind == G_IRREGULAR) {
            status = 1;
        } else if (kind == G_FUNCTION) {
            function_hits = line.value;
        } else if (kind == G_BRANCH) {
            if (pending.active) status = buf_put(&pending.taken, &(char){(char)line.value}, 1);
        } else if (kind == G_ROW) {
            pending.active = 0;
            if (line.value == 0) {
                if ((size_t)(line.rest_end - line.rest) >= 7 && memcmp(line.rest, "Source:", 7) == 0) {
                    source = line.rest + 7;
                    source_end = line.rest_end;
                }
                continue;
            }
            int64_t count = gcov_count(line.field, line.field_end);
            if (count == -2 || (count >= 0 && line.value <= last_line)) {
                status = 1;
                continue;
            }
            if (count >= 0) {
                if ((status = gcov_emit(&table, &pending)) != 0) continue;
                last_line = line.value;
                pending.line = line.value;
                pending.hits = count;
                pending.method = function_hits >= 0;
                if (function_hits > count) pending.hits = function_hits;
                pending.active = 1;
            }
            function_hits = -1;
        }
    }
    if (status == 0) status = gcov_emit(&table, &pending);
    PyObject *result = NULL, *tuple = NULL, *found = NULL;
    if (status == 0 && (tuple = table_tuple(&table)) != NULL) {
        found = source ? PyBytes_FromStringAndSize((const char *)source, source_end - source) : Py_NewRef(Py_None);
        if (found != NULL)
            result = Py_BuildValue("(nOLLO)", (Py_ssize_t)(cut - base), found, function_hits, last_line, tuple);
    }
    Py_XDECREF(tuple);
    Py_XDECREF(found);
    buf_free(&pending.taken);
    table_free(&table);
    PyBuffer_Release(&view);
    if (status == 1) Py_RETURN_NONE;
    return result;
}

/* --- SimpleCov (JSON, loaded) ------------------------------------------------------------ */

/* A condition's key as `^\[:?(\w+),\s*(\d+),\s*(\d+)` reads it, ASCII with blanks as spaces
 * only: its line (the third number), or -1 for any other key. */
static int64_t condition_line(PyObject *key) {
    if (!PyUnicode_CheckExact(key) || !PyUnicode_IS_ASCII(key)) return -1;
    const uc *p = (const uc *)PyUnicode_DATA(key), *e = p + PyUnicode_GET_LENGTH(key);
    if (p >= e || *p++ != '[') return -1;
    if (p < e && *p == ':') p++;
    const uc *word = p;
    while (p < e && (is_digit(*p) || *p == '_' || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))) p++;
    if (p == word || p >= e || *p++ != ',') return -1;
    for (int i = 0; i < 2; i++) {
        while (p < e && *p == ' ') p++;
        if (p < e && *p < 0x21) return -1; /* another blank: left to the pattern */
        int64_t v = number(&p, e);
        if (v < 0) return -1;
        if (i == 1) return v;
        if (p >= e || *p++ != ',') return -1;
    }
    return -1;
}

/* Every arm of a condition counted (an int but 0): its number of arms, else -1 */
static Py_ssize_t counted_arms(PyObject *arms) {
    if (!PyDict_CheckExact(arms) || PyDict_GET_SIZE(arms) == 0) return -1;
    Py_ssize_t pos = 0;
    PyObject *name, *count;
    while (PyDict_Next(arms, &pos, &name, &count)) {
        if (!PyLong_CheckExact(count)) return -1;
        int overflow;
        if (PyLong_AsLongLongAndOverflow(count, &overflow) == 0 && !overflow) return -1;
    }
    return PyDict_GET_SIZE(arms);
}

PyDoc_STRVAR(simplecov_file_doc,
             "simplecov_file(lines, branches) -> line table | None\n\n"
             "A SimpleCov file's `lines` list (int counts, others skipped) and `branches` dict (or\n"
             "None) as simplecov.py reads them. None unless every count is in 0..2**32-1 and every\n"
             "condition is the usual one: a key the pattern reads in ASCII, its own line, arms all counted.");

static PyObject *simplecov_file(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *lines, *branches;
    if (!PyArg_ParseTuple(args, "O!O", &PyList_Type, &lines, &branches)) return NULL;
    if (branches != Py_None && !PyDict_CheckExact(branches)) Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(lines), conditions = branches == Py_None ? 0 : PyDict_GET_SIZE(branches);
    Pair *found = PyMem_Malloc(((size_t)conditions + 1) * sizeof *found);
    if (found == NULL) return PyErr_NoMemory();
    int status = 0;
    Py_ssize_t pos = 0, k = 0;
    PyObject *key, *arms;
    while (status == 0 && conditions && PyDict_Next(branches, &pos, &key, &arms)) {
        int64_t line = condition_line(key);
        Py_ssize_t total = counted_arms(arms);
        if (line <= 0 || line > LINE_LIMIT || total < 0 || k >= conditions) status = 1;
        else found[k++] = (Pair){line, total};
    }
    if (status == 0 && k > 1) {
        qsort(found, (size_t)k, sizeof *found, pair_cmp);
        for (Py_ssize_t i = 1; i < k; i++)
            if (found[i - 1].line == found[i].line) status = 1; /* two conditions on a line */
    }
    Table table;
    if (table_init(&table) < 0) status = -1;
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; status == 0 && i < n && i < PyList_GET_SIZE(lines) && i < LINE_LIMIT; i++) {
        PyObject *item = PyList_GET_ITEM(lines, i);
        int64_t count = -1;
        if (PyLong_CheckExact(item)) {
            int overflow;
            long long v = PyLong_AsLongLongAndOverflow(item, &overflow);
            if (overflow || v < 0 || v > PLAIN_LIMIT) {
                status = 1;
                break;
            }
            count = v;
        }
        for (; status == 0 && j < k && found[j].line < i + 1; j++) /* conditions on lines without an entry */
            status = table_add(&table, found[j].line, 1, F_BRANCHES | F_NAMED, found[j].value, found[j].value, NULL, 0);
        if (status != 0) break;
        if (j < k && found[j].line == i + 1) { /* the condition's coverage replaces the line's, its hits kept */
            status = table_add(&table, i + 1, count < 0 ? 1 : count, F_BRANCHES | F_NAMED, found[j].value,
                               found[j].value, NULL, 0);
            j++;
        } else if (count >= 0) {
            status = table_add(&table, i + 1, count, 0, 0, 0, NULL, 0);
        }
    }
    for (; status == 0 && j < k; j++)
        status = table_add(&table, found[j].line, 1, F_BRANCHES | F_NAMED, found[j].value, found[j].value, NULL, 0);
    PyMem_Free(found);
    PyObject *result = status == 0 ? table_tuple(&table) : NULL;
    table_free(&table);
    if (status == 1) Py_RETURN_NONE;
    return result;
}

/* --- module ------------------------------------------------------------------------------ */

static PyMethodDef methods[] = {
    {"go_runs", go_runs, METH_O, go_runs_doc},
    {"go_table", go_table, METH_O, go_table_doc},
    {"lcov_record", lcov_record, METH_VARARGS, lcov_record_doc},
    {"gcov_chunk", gcov_chunk, METH_VARARGS, gcov_chunk_doc},
    {"simplecov_file", simplecov_file, METH_VARARGS, simplecov_file_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_linescan", "Regular lines of Go, LCOV and gcov reports, read in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__linescan(void) { return PyModule_Create(&module); }
