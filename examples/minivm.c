/* minivm - a small bytecode virtual machine, written for cprof as an interpreter-shaped workload.

   A tokenizer and a one-pass compiler turn a tiny language (integers, strings, arrays, maps, functions,
   while loops) into bytecode; vm_run executes it with one big switch, calling small helpers for every
   instruction (push, pop, type checks, arithmetic); objects live on a malloc'ed heap with a mark-and-sweep
   collector; strings are interned in a hash table; 236 builtins do string, math, array, map and
   conversion work. The workload is SCRIPT_FUNCTIONS + a tour that calls every builtin (generated from the
   builtin table) + SCRIPT_MAIN, compiled and run SCALE times. The program prints one line, the same on
   every run and in every build: a checksum of everything the script computed, the number of instructions
   executed and of collections.

   Three builds, from the repository's root (the Makefile has the first two; bench/truth.sh all three):
     plain:      gcc -std=c99 -O2 -DCPROF_DISABLE examples/minivm.c -o minivm -lpthread -lm
     automatic:  gcc -std=c99 -O2 -finstrument-functions -finstrument-functions-exclude-file-list=cprof.h,stb_sprintf.h \
                     -DCPROF_AUTO examples/minivm.c -o minivm-auto -lpthread -lm      then CPROF_OUT=prof ./minivm-auto
     gprof:      gcc -std=c99 -O2 -pg -DCPROF_DISABLE examples/minivm.c -o minivm-pg -lpthread -lm
   Run: ./minivm [SCALE]  (default DEFAULT_SCALE: about a second of CPU for the plain build); MINIVM_SLOW_SPINS=N
   in the environment plants a slowdown in apply_binary (see there). */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_SCALE = 70, STACK_MAX = 4096, FRAMES_MAX = 256, GLOBALS_MAX = 256, LOCALS_MAX = 64, PROTOS_MAX = 64 };

/* ================================ values and objects ================================ */

typedef enum { T_NIL, T_INT, T_STR, T_ARR, T_MAP, T_FN } value_type;

typedef struct obj {
    struct obj *next; /* every object, in one list, for the sweep */
    value_type type;
    int marked;
} obj;

typedef struct value {
    value_type type;
    union {
        int64_t i; /* T_INT; T_FN: the function's index in program.protos */
        obj *o;    /* T_STR, T_ARR, T_MAP */
    } as;
} value;

typedef struct str_obj {
    obj header;
    uint32_t hash;
    int length;
    char chars[]; /* length bytes and a '\0' */
} str_obj;

typedef struct arr_obj {
    obj header;
    int count, capacity;
    value *items;
} arr_obj;

typedef struct map_entry {
    value key, val; /* empty: key nil, val nil; deleted: key nil, val int */
} map_entry;

typedef struct map_obj {
    obj header;
    int count, used, capacity; /* used counts the deleted slots too */
    map_entry *entries;
} map_obj;

/* A compiled function: where its code starts, how many arguments and locals it has. */
typedef struct proto {
    str_obj *name;
    int arity, locals, entry;
} proto;

typedef struct program {
    int32_t *code;
    int length, capacity;
    value *constants;
    int constant_count, constant_capacity;
    proto protos[PROTOS_MAX];
    int proto_count;
    str_obj *global_names[GLOBALS_MAX];
    int global_count;
} program;

typedef struct frame {
    int return_pc, base; /* base: the stack index of the first argument */
} frame;

static struct vm {
    value stack[STACK_MAX];
    int sp;
    frame frames[FRAMES_MAX];
    int frame_count;
    value globals[GLOBALS_MAX];
    program *program;
    uint64_t checksum, instructions;
} vm;

static void fatal(const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    fputs("minivm: ", stderr);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static value scalar_value(value_type type, int64_t i) {
    value v;
    v.type = type;
    v.as.i = i;
    return v;
}

static value nil_value(void) { return scalar_value(T_NIL, 0); }
static value int_value(int64_t i) { return scalar_value(T_INT, i); }
static value fn_value(int proto_index) { return scalar_value(T_FN, proto_index); }

static value bool_value(int b) { return int_value(b != 0); }

static value obj_value(obj *o) {
    value v;
    v.type = o->type;
    v.as.o = o;
    return v;
}

static int is_int(value v) { return v.type == T_INT; }
static int is_str(value v) { return v.type == T_STR; }
static int is_arr(value v) { return v.type == T_ARR; }
static int is_map(value v) { return v.type == T_MAP; }
static int is_obj(value v) { return v.type == T_STR || v.type == T_ARR || v.type == T_MAP; }
static str_obj *as_str(value v) { return (str_obj *)v.as.o; }
static arr_obj *as_arr(value v) { return (arr_obj *)v.as.o; }
static map_obj *as_map(value v) { return (map_obj *)v.as.o; }

static int truthy(value v) {
    if (v.type == T_NIL) return 0;
    if (v.type == T_INT) return v.as.i != 0;
    return 1;
}

static int values_equal(value a, value b) {
    if (a.type != b.type) return 0;
    if (a.type == T_NIL) return 1;
    if (a.type == T_INT || a.type == T_FN) return a.as.i == b.as.i;
    return a.as.o == b.as.o; /* strings are interned: the same text is the same object */
}

static const char *type_name(value_type type) {
    static const char *names[] = {"nil", "int", "string", "array", "map", "function"};
    return names[type];
}

/* Wrapping integer arithmetic: the script's integers wrap like the machine's, without undefined behaviour. */
static int64_t wadd(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wsub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wmul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static int64_t wneg(int64_t a) { return (int64_t)(0 - (uint64_t)a); }

static int64_t safe_div(int64_t a, int64_t b) {
    if (b == 0) fatal("division by zero");
    if (b == -1) return wneg(a);
    return a / b;
}

static int64_t safe_mod(int64_t a, int64_t b) {
    if (b == 0) fatal("modulo by zero");
    if (b == -1) return 0;
    return a % b;
}

static uint64_t mix64(uint64_t x) { /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* ================================ heap and collector ================================ */

static struct heap {
    obj *objects;
    size_t bytes, threshold;
    int collections;
    obj **gray; /* marked objects whose references are not marked yet */
    int gray_count, gray_capacity;
} heap = {NULL, 0, 1u << 20, 0, NULL, 0, 0};

static void *checked_realloc(void *p, size_t size) {
    void *q = realloc(p, size);
    if (!q && size) fatal("out of memory");
    return q;
}

static obj *heap_new(value_type type, size_t size) {
    obj *o = (obj *)checked_realloc(NULL, size);
    o->type = type;
    o->marked = 0;
    o->next = heap.objects;
    heap.objects = o;
    heap.bytes += size;
    return o;
}

/* ================================ string table ================================ */

static struct strtab {
    str_obj **slots; /* NULL empty, STRTAB_DELETED deleted */
    int capacity, used;
} strtab;

static str_obj strtab_deleted_marker;
#define STRTAB_DELETED (&strtab_deleted_marker)

static uint32_t hash_bytes(const char *s, int length) { /* FNV-1a */
    uint32_t h = 2166136261u;
    for (int i = 0; i < length; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int str_matches(const str_obj *s, const char *chars, int length, uint32_t hash) {
    return s->hash == hash && s->length == length && memcmp(s->chars, chars, (size_t)length) == 0;
}

static str_obj *strtab_find(const char *chars, int length, uint32_t hash) {
    if (!strtab.capacity) return NULL;
    for (uint32_t i = hash & (uint32_t)(strtab.capacity - 1);; i = (i + 1) & (uint32_t)(strtab.capacity - 1)) {
        str_obj *s = strtab.slots[i];
        if (!s) return NULL;
        if (s != STRTAB_DELETED && str_matches(s, chars, length, hash)) return s;
    }
}

static void strtab_place(str_obj **slots, int capacity, str_obj *s) {
    uint32_t i = s->hash & (uint32_t)(capacity - 1);
    while (slots[i] && slots[i] != STRTAB_DELETED) i = (i + 1) & (uint32_t)(capacity - 1);
    slots[i] = s;
}

static void strtab_grow(void) {
    int capacity = strtab.capacity ? strtab.capacity * 2 : 1024;
    str_obj **slots = (str_obj **)checked_realloc(NULL, sizeof *slots * (size_t)capacity);
    memset(slots, 0, sizeof *slots * (size_t)capacity);
    strtab.used = 0;
    for (int i = 0; i < strtab.capacity; i++) {
        if (strtab.slots[i] && strtab.slots[i] != STRTAB_DELETED) {
            strtab_place(slots, capacity, strtab.slots[i]);
            strtab.used++;
        }
    }
    free(strtab.slots);
    strtab.slots = slots;
    strtab.capacity = capacity;
}

static void strtab_insert(str_obj *s) {
    if ((strtab.used + 1) * 4 > strtab.capacity * 3) strtab_grow();
    strtab_place(strtab.slots, strtab.capacity, s);
    strtab.used++;
}

/* The table does not keep strings alive: before the sweep, the unmarked ones leave it. */
static void strtab_drop_unmarked(void) {
    for (int i = 0; i < strtab.capacity; i++)
        if (strtab.slots[i] && strtab.slots[i] != STRTAB_DELETED && !strtab.slots[i]->header.marked)
            strtab.slots[i] = STRTAB_DELETED;
}

static str_obj *intern(const char *chars, int length) {
    uint32_t hash = hash_bytes(chars, length);
    str_obj *s = strtab_find(chars, length, hash);
    if (s) return s;
    s = (str_obj *)heap_new(T_STR, sizeof(str_obj) + (size_t)length + 1);
    s->hash = hash;
    s->length = length;
    memcpy(s->chars, chars, (size_t)length);
    s->chars[length] = '\0';
    strtab_insert(s);
    return s;
}

static value str_value(const char *chars, int length) { return obj_value(&intern(chars, length)->header); }
static value cstr_value(const char *s) { return str_value(s, (int)strlen(s)); }

/* A growable buffer for building strings; strbuf_finish interns the result and frees the buffer. */
typedef struct strbuf {
    char *chars;
    int length, capacity;
} strbuf;

static void strbuf_reserve(strbuf *b, int extra) {
    if (b->length + extra <= b->capacity) return;
    while (b->length + extra > b->capacity) b->capacity = b->capacity ? b->capacity * 2 : 64;
    b->chars = (char *)checked_realloc(b->chars, (size_t)b->capacity);
}

static void strbuf_putc(strbuf *b, char c) {
    strbuf_reserve(b, 1);
    b->chars[b->length++] = c;
}

static void strbuf_append(strbuf *b, const char *s, int length) {
    if (length <= 0) return;
    strbuf_reserve(b, length);
    memcpy(b->chars + b->length, s, (size_t)length);
    b->length += length;
}

static void strbuf_append_cstr(strbuf *b, const char *s) { strbuf_append(b, s, (int)strlen(s)); }

static void strbuf_append_int(strbuf *b, int64_t i) {
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)i);
    strbuf_append(b, digits, n);
}

static value strbuf_finish(strbuf *b) {
    value v = str_value(b->chars ? b->chars : "", b->length);
    free(b->chars);
    b->chars = NULL;
    b->length = b->capacity = 0;
    return v;
}

/* ================================ arrays and maps ================================ */

static size_t arr_size(const arr_obj *a) { return sizeof *a + sizeof(value) * (size_t)a->capacity; }

static arr_obj *arr_new(int capacity) {
    arr_obj *a = (arr_obj *)heap_new(T_ARR, sizeof(arr_obj));
    a->count = 0;
    a->capacity = 0;
    a->items = NULL;
    if (capacity > 0) {
        a->items = (value *)checked_realloc(NULL, sizeof(value) * (size_t)capacity);
        a->capacity = capacity;
        heap.bytes += sizeof(value) * (size_t)capacity;
    }
    return a;
}

static void arr_reserve(arr_obj *a, int capacity) {
    if (capacity <= a->capacity) return;
    int grown = a->capacity ? a->capacity : 4;
    while (grown < capacity) grown *= 2;
    a->items = (value *)checked_realloc(a->items, sizeof(value) * (size_t)grown);
    heap.bytes += sizeof(value) * (size_t)(grown - a->capacity);
    a->capacity = grown;
}

static void arr_push(arr_obj *a, value v) {
    arr_reserve(a, a->count + 1);
    a->items[a->count++] = v;
}

static value arr_pop(arr_obj *a) { return a->count ? a->items[--a->count] : nil_value(); }

static void check_index(const arr_obj *a, int64_t i) {
    if (i < 0 || i >= a->count) fatal("index %lld out of range (array of %d)", (long long)i, a->count);
}

static value arr_get(const arr_obj *a, int64_t i) {
    check_index(a, i);
    return a->items[i];
}

static void arr_set(arr_obj *a, int64_t i, value v) {
    if (i == a->count) { /* one past the end appends */
        arr_push(a, v);
        return;
    }
    check_index(a, i);
    a->items[i] = v;
}

static uint32_t key_hash(value key) {
    if (is_int(key)) return (uint32_t)mix64((uint64_t)key.as.i);
    if (is_str(key)) return as_str(key)->hash;
    fatal("a map key must be an int or a string, not %s", type_name(key.type));
    return 0;
}

static int entry_is_free(const map_entry *e) { return e->key.type == T_NIL; }
static int entry_is_empty(const map_entry *e) { return e->key.type == T_NIL && e->val.type == T_NIL; }

static map_obj *map_new(void) {
    map_obj *m = (map_obj *)heap_new(T_MAP, sizeof(map_obj));
    m->count = m->used = m->capacity = 0;
    m->entries = NULL;
    return m;
}

/* The slot holding key, or -1; with for_insert, the first free slot on key's path instead of -1. */
static int map_slot(const map_obj *m, value key, int for_insert) {
    if (!m->capacity) return -1;
    int free_slot = -1;
    uint32_t mask = (uint32_t)m->capacity - 1;
    for (uint32_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
        const map_entry *e = &m->entries[i];
        if (entry_is_empty(e)) return for_insert ? (free_slot >= 0 ? free_slot : (int)i) : -1;
        if (entry_is_free(e)) {
            if (free_slot < 0) free_slot = (int)i;
        } else if (values_equal(e->key, key)) {
            return (int)i;
        }
    }
}

static void map_grow(map_obj *m) {
    map_entry *old = m->entries;
    int old_capacity = m->capacity;
    m->capacity = old_capacity ? old_capacity * 2 : 8;
    m->entries = (map_entry *)checked_realloc(NULL, sizeof(map_entry) * (size_t)m->capacity);
    for (int i = 0; i < m->capacity; i++) m->entries[i].key = m->entries[i].val = nil_value();
    heap.bytes += sizeof(map_entry) * (size_t)(m->capacity - old_capacity);
    m->count = m->used = 0;
    for (int i = 0; i < old_capacity; i++) {
        if (entry_is_free(&old[i])) continue;
        int slot = map_slot(m, old[i].key, 1);
        m->entries[slot] = old[i];
        m->count++;
        m->used++;
    }
    free(old);
}

static value map_get(const map_obj *m, value key, int *found) {
    int slot = map_slot(m, key, 0);
    if (found) *found = slot >= 0;
    return slot >= 0 ? m->entries[slot].val : nil_value();
}

static void map_set(map_obj *m, value key, value val) {
    int slot = map_slot(m, key, 0);
    if (slot >= 0) {
        m->entries[slot].val = val;
        return;
    }
    if ((m->used + 1) * 4 > m->capacity * 3) map_grow(m);
    slot = map_slot(m, key, 1);
    if (entry_is_empty(&m->entries[slot])) m->used++;
    m->entries[slot].key = key;
    m->entries[slot].val = val;
    m->count++;
}

static int map_delete(map_obj *m, value key) {
    int slot = map_slot(m, key, 0);
    if (slot < 0) return 0;
    m->entries[slot].key = nil_value();
    m->entries[slot].val = int_value(1); /* deleted, not empty: later keys may be past it */
    m->count--;
    return 1;
}

/* ================================ mark and sweep ================================ */

static void gray_push(obj *o) {
    if (heap.gray_count == heap.gray_capacity) {
        heap.gray_capacity = heap.gray_capacity ? heap.gray_capacity * 2 : 256;
        heap.gray = (obj **)checked_realloc(heap.gray, sizeof(obj *) * (size_t)heap.gray_capacity);
    }
    heap.gray[heap.gray_count++] = o;
}

static void mark_object(obj *o) {
    if (!o || o->marked) return;
    o->marked = 1;
    if (o->type != T_STR) gray_push(o); /* strings reference nothing */
}

static void mark_value(value v) {
    if (is_obj(v)) mark_object(v.as.o);
}

static void mark_array_items(const arr_obj *a) {
    for (int i = 0; i < a->count; i++) mark_value(a->items[i]);
}

static void mark_map_entries(const map_obj *m) {
    for (int i = 0; i < m->capacity; i++) {
        mark_value(m->entries[i].key);
        mark_value(m->entries[i].val);
    }
}

static void mark_roots(void) {
    program *p = vm.program;
    for (int i = 0; i < vm.sp; i++) mark_value(vm.stack[i]);
    for (int i = 0; i < p->global_count; i++) {
        mark_value(vm.globals[i]);
        mark_object(&p->global_names[i]->header);
    }
    for (int i = 0; i < p->constant_count; i++) mark_value(p->constants[i]);
    for (int i = 0; i < p->proto_count; i++) mark_object(&p->protos[i].name->header);
}

static void trace_references(void) {
    while (heap.gray_count > 0) {
        obj *o = heap.gray[--heap.gray_count];
        if (o->type == T_ARR) mark_array_items((arr_obj *)o);
        else if (o->type == T_MAP) mark_map_entries((map_obj *)o);
    }
}

static size_t object_size(const obj *o) {
    if (o->type == T_STR) return sizeof(str_obj) + (size_t)((const str_obj *)o)->length + 1;
    if (o->type == T_ARR) return arr_size((const arr_obj *)o);
    return sizeof(map_obj) + sizeof(map_entry) * (size_t)((const map_obj *)o)->capacity;
}

static void free_object(obj *o) {
    heap.bytes -= object_size(o);
    if (o->type == T_ARR) free(((arr_obj *)o)->items);
    if (o->type == T_MAP) free(((map_obj *)o)->entries);
    free(o);
}

static void sweep(void) {
    obj **link = &heap.objects;
    while (*link) {
        obj *o = *link;
        if (o->marked) {
            o->marked = 0;
            link = &o->next;
        } else {
            *link = o->next;
            free_object(o);
        }
    }
}

static void collect_garbage(void) {
    mark_roots();
    trace_references();
    strtab_drop_unmarked();
    sweep();
    heap.collections++;
    heap.threshold = heap.bytes * 2 > (1u << 20) ? heap.bytes * 2 : (1u << 20);
}

/* The collector runs only here, between instructions, when every live value is on the stack. */
static void gc_safepoint(void) {
    if (heap.bytes > heap.threshold) collect_garbage();
}

static void free_heap(void) {
    while (heap.objects) {
        obj *next = heap.objects->next;
        free_object(heap.objects);
        heap.objects = next;
    }
    free(heap.gray);
    free(strtab.slots);
}

/* ================================ tokenizer ================================ */

typedef enum {
    TK_EOF, TK_NUMBER, TK_STRING, TK_IDENT, TK_LET, TK_FN, TK_IF, TK_ELSE, TK_WHILE, TK_RETURN, TK_NIL,
    TK_LPAREN, TK_RPAREN, TK_LBRACE, TK_RBRACE, TK_LBRACKET, TK_RBRACKET, TK_COMMA, TK_SEMI,
    TK_ASSIGN, TK_EQ, TK_NE, TK_LT, TK_LE, TK_GT, TK_GE, TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH, TK_PERCENT,
    TK_NOT, TK_AND, TK_OR
} token_kind;

typedef struct token {
    token_kind kind;
    const char *start;
    int length, line;
} token;

typedef struct lexer {
    const char *p;
    int line;
} lexer;

static int is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static int is_ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

static void skip_space_and_comments(lexer *lx) {
    for (;;) {
        if (*lx->p == '\n') lx->line++;
        if (isspace((unsigned char)*lx->p)) {
            lx->p++;
        } else if (*lx->p == '#') {
            while (*lx->p && *lx->p != '\n') lx->p++;
        } else {
            return;
        }
    }
}

static token make_token(const lexer *lx, token_kind kind, const char *start) {
    token t;
    t.kind = kind;
    t.start = start;
    t.length = (int)(lx->p - start);
    t.line = lx->line;
    return t;
}

static token_kind keyword_kind(const char *s, int length) {
    static const struct { const char *word; token_kind kind; } keywords[] = {
        {"let", TK_LET}, {"fn", TK_FN}, {"if", TK_IF}, {"else", TK_ELSE},
        {"while", TK_WHILE}, {"return", TK_RETURN}, {"nil", TK_NIL},
    };
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if ((int)strlen(keywords[i].word) == length && memcmp(keywords[i].word, s, (size_t)length) == 0)
            return keywords[i].kind;
    return TK_IDENT;
}

static token lex_number(lexer *lx) {
    const char *start = lx->p;
    while (isdigit((unsigned char)*lx->p)) lx->p++;
    return make_token(lx, TK_NUMBER, start);
}

static token lex_ident(lexer *lx) {
    const char *start = lx->p;
    while (is_ident_char(*lx->p)) lx->p++;
    token t = make_token(lx, TK_IDENT, start);
    t.kind = keyword_kind(t.start, t.length);
    return t;
}

/* The token's text includes the quotes; escapes are decoded by the compiler. */
static token lex_string(lexer *lx) {
    const char *start = lx->p++;
    while (*lx->p && *lx->p != '"') lx->p += (*lx->p == '\\' && lx->p[1]) ? 2 : 1;
    if (!*lx->p) fatal("line %d: unterminated string", lx->line);
    lx->p++;
    return make_token(lx, TK_STRING, start);
}

/* Two-character operators first, then one-character ones. */
static token lex_operator(lexer *lx) {
    static const struct { const char *text; token_kind kind; } operators[] = {
        {"==", TK_EQ}, {"!=", TK_NE}, {"<=", TK_LE}, {">=", TK_GE}, {"&&", TK_AND}, {"||", TK_OR},
        {"(", TK_LPAREN}, {")", TK_RPAREN}, {"{", TK_LBRACE}, {"}", TK_RBRACE}, {"[", TK_LBRACKET},
        {"]", TK_RBRACKET}, {",", TK_COMMA}, {";", TK_SEMI}, {"=", TK_ASSIGN}, {"<", TK_LT}, {">", TK_GT},
        {"+", TK_PLUS}, {"-", TK_MINUS}, {"*", TK_STAR}, {"/", TK_SLASH}, {"%", TK_PERCENT}, {"!", TK_NOT},
    };
    const char *start = lx->p;
    for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++) {
        size_t n = strlen(operators[i].text);
        if (strncmp(lx->p, operators[i].text, n) == 0) {
            lx->p += n;
            return make_token(lx, operators[i].kind, start);
        }
    }
    fatal("line %d: unexpected character '%c'", lx->line, *lx->p);
    return make_token(lx, TK_EOF, start);
}

static token next_token(lexer *lx) {
    skip_space_and_comments(lx);
    if (!*lx->p) return make_token(lx, TK_EOF, lx->p);
    if (isdigit((unsigned char)*lx->p)) return lex_number(lx);
    if (is_ident_start(*lx->p)) return lex_ident(lx);
    if (*lx->p == '"') return lex_string(lx);
    return lex_operator(lx);
}

/* ================================ bytecode and compiler ================================ */

typedef enum {
    OP_CONST, OP_NIL, OP_POP, OP_GET_LOCAL, OP_SET_LOCAL, OP_GET_GLOBAL, OP_SET_GLOBAL,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_NEG, OP_NOT, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
    OP_JUMP, OP_JUMP_IF_FALSE, OP_AND, OP_OR, OP_LOOP, OP_CALL, OP_BUILTIN, OP_RETURN,
    OP_ARRAY, OP_INDEX, OP_SET_INDEX, OP_HALT
} opcode;

typedef value (*builtin_fn)(value *args);
typedef struct builtin {
    const char *name;
    const char *args; /* one letter per argument, the kind of value the tour passes (see tour_argument) */
    builtin_fn fn;
} builtin;
static int find_builtin(const char *name, int length);
static int builtin_arity(int index);
static void call_builtin(int index, int argc);

typedef struct compiler {
    lexer lx;
    token current, previous;
    program *prog;
    int in_function;
    str_obj *locals[LOCALS_MAX];
    int local_count;
    int last_op; /* where the last instruction starts: an assignment rewrites it */
} compiler;

static void compile_error(const compiler *c, const char *message) {
    fatal("line %d near '%.*s': %s", c->previous.line, c->previous.length, c->previous.start, message);
}

static void advance(compiler *c) {
    c->previous = c->current;
    c->current = next_token(&c->lx);
}

static int accept(compiler *c, token_kind kind) {
    if (c->current.kind != kind) return 0;
    advance(c);
    return 1;
}

static void expect(compiler *c, token_kind kind, const char *message) {
    if (!accept(c, kind)) compile_error(c, message);
}

static void emit(compiler *c, int32_t word) {
    program *p = c->prog;
    if (p->length == p->capacity) {
        p->capacity = p->capacity ? p->capacity * 2 : 1024;
        p->code = (int32_t *)checked_realloc(p->code, sizeof(int32_t) * (size_t)p->capacity);
    }
    p->code[p->length++] = word;
}

static void emit_op(compiler *c, opcode op) {
    c->last_op = c->prog->length;
    emit(c, op);
}

static void emit_op_arg(compiler *c, opcode op, int32_t arg) {
    emit_op(c, op);
    emit(c, arg);
}

/* A jump's operand is its absolute target, patched once the target is known. */
static int emit_jump(compiler *c, opcode op) {
    emit_op_arg(c, op, -1);
    return c->prog->length - 1;
}

static void patch_jump(compiler *c, int operand) { c->prog->code[operand] = c->prog->length; }

static int add_constant(program *p, value v) {
    for (int i = 0; i < p->constant_count; i++)
        if (values_equal(p->constants[i], v)) return i;
    if (p->constant_count == p->constant_capacity) {
        p->constant_capacity = p->constant_capacity ? p->constant_capacity * 2 : 64;
        p->constants = (value *)checked_realloc(p->constants, sizeof(value) * (size_t)p->constant_capacity);
    }
    p->constants[p->constant_count] = v;
    return p->constant_count++;
}

static void emit_constant(compiler *c, value v) { emit_op_arg(c, OP_CONST, add_constant(c->prog, v)); }

static str_obj *token_name(token t) { return intern(t.start, t.length); }

static int resolve_local(const compiler *c, const str_obj *name) {
    if (!c->in_function) return -1;
    for (int i = 0; i < c->local_count; i++)
        if (c->locals[i] == name) return i;
    return -1;
}

static int declare_local(compiler *c, str_obj *name) {
    int slot = resolve_local(c, name);
    if (slot >= 0) return slot;
    if (c->local_count == LOCALS_MAX) compile_error(c, "too many locals");
    c->locals[c->local_count] = name;
    return c->local_count++;
}

static int resolve_global(compiler *c, str_obj *name) {
    program *p = c->prog;
    for (int i = 0; i < p->global_count; i++)
        if (p->global_names[i] == name) return i;
    if (p->global_count == GLOBALS_MAX) compile_error(c, "too many globals");
    p->global_names[p->global_count] = name;
    return p->global_count++;
}

static void expression(compiler *c);

static int argument_list(compiler *c, token_kind closing) {
    int count = 0;
    if (accept(c, closing)) return 0;
    do {
        expression(c);
        count++;
    } while (accept(c, TK_COMMA));
    expect(c, closing, "expected ')' or ']' after the list");
    return count;
}

static void string_literal(compiler *c) {
    strbuf b = {NULL, 0, 0};
    const char *s = c->previous.start + 1, *end = c->previous.start + c->previous.length - 1;
    for (; s < end; s++) {
        if (*s != '\\') {
            strbuf_putc(&b, *s);
            continue;
        }
        s++;
        strbuf_putc(&b, *s == 'n' ? '\n' : *s == 't' ? '\t' : *s);
    }
    emit_constant(c, strbuf_finish(&b));
}

static void named_value(compiler *c) {
    token name = c->previous;
    if (c->current.kind == TK_LPAREN) {
        int index = find_builtin(name.start, name.length);
        if (index >= 0) {
            advance(c);
            int argc = argument_list(c, TK_RPAREN);
            if (argc != builtin_arity(index)) compile_error(c, "wrong number of arguments for a builtin");
            emit_op_arg(c, OP_BUILTIN, index);
            emit(c, argc);
            return;
        }
    }
    str_obj *s = token_name(name);
    int slot = resolve_local(c, s);
    if (slot >= 0) emit_op_arg(c, OP_GET_LOCAL, slot);
    else emit_op_arg(c, OP_GET_GLOBAL, resolve_global(c, s));
}

static void primary(compiler *c) {
    if (accept(c, TK_NUMBER)) {
        emit_constant(c, int_value(strtoll(c->previous.start, NULL, 10)));
    } else if (accept(c, TK_STRING)) {
        string_literal(c);
    } else if (accept(c, TK_NIL)) {
        emit_op(c, OP_NIL);
    } else if (accept(c, TK_IDENT)) {
        named_value(c);
    } else if (accept(c, TK_LPAREN)) {
        expression(c);
        expect(c, TK_RPAREN, "expected ')'");
    } else if (accept(c, TK_LBRACKET)) {
        emit_op_arg(c, OP_ARRAY, argument_list(c, TK_RBRACKET));
    } else {
        advance(c);
        compile_error(c, "expected an expression");
    }
}

static void postfix(compiler *c) {
    primary(c);
    for (;;) {
        if (accept(c, TK_LPAREN)) {
            emit_op_arg(c, OP_CALL, argument_list(c, TK_RPAREN));
        } else if (accept(c, TK_LBRACKET)) {
            expression(c);
            expect(c, TK_RBRACKET, "expected ']'");
            emit_op(c, OP_INDEX);
        } else {
            return;
        }
    }
}

static void unary(compiler *c) {
    if (accept(c, TK_MINUS)) {
        unary(c);
        emit_op(c, OP_NEG);
    } else if (accept(c, TK_NOT)) {
        unary(c);
        emit_op(c, OP_NOT);
    } else {
        postfix(c);
    }
}

/* One precedence level of left-associative binary operators: each operator token with its opcode. */
typedef struct binary_level {
    token_kind tokens[4];
    opcode ops[4];
    int count;
} binary_level;

static const binary_level LEVELS[] = {
    {{TK_EQ, TK_NE}, {OP_EQ, OP_NE}, 2},
    {{TK_LT, TK_LE, TK_GT, TK_GE}, {OP_LT, OP_LE, OP_GT, OP_GE}, 4},
    {{TK_PLUS, TK_MINUS}, {OP_ADD, OP_SUB}, 2},
    {{TK_STAR, TK_SLASH, TK_PERCENT}, {OP_MUL, OP_DIV, OP_MOD}, 3},
};
enum { LEVEL_COUNT = sizeof LEVELS / sizeof LEVELS[0] };

static void binary_operand(compiler *c, int level) {
    if (level == LEVEL_COUNT) unary(c);
    else {
        binary_operand(c, level + 1);
        for (int matched = 1; matched;) {
            matched = 0;
            for (int i = 0; i < LEVELS[level].count && !matched; i++) {
                if (accept(c, LEVELS[level].tokens[i])) {
                    binary_operand(c, level + 1);
                    emit_op(c, LEVELS[level].ops[i]);
                    matched = 1;
                }
            }
        }
    }
}

/* && and ||: the left value stays if it decides, else it is popped and the right one computed. */
static void logical_and(compiler *c) {
    binary_operand(c, 0);
    while (accept(c, TK_AND)) {
        int jump = emit_jump(c, OP_AND);
        binary_operand(c, 0);
        patch_jump(c, jump);
    }
}

static void expression(compiler *c) {
    logical_and(c);
    while (accept(c, TK_OR)) {
        int jump = emit_jump(c, OP_OR);
        logical_and(c);
        patch_jump(c, jump);
    }
}

static void block(compiler *c);
static void statement(compiler *c);

static void store_variable(compiler *c, str_obj *name) {
    int slot = resolve_local(c, name);
    if (slot >= 0) emit_op_arg(c, OP_SET_LOCAL, slot);
    else emit_op_arg(c, OP_SET_GLOBAL, resolve_global(c, name));
}

static void let_statement(compiler *c) {
    expect(c, TK_IDENT, "expected a name after let");
    str_obj *name = token_name(c->previous);
    if (c->in_function) declare_local(c, name);
    expect(c, TK_ASSIGN, "expected '=' after the name");
    expression(c);
    expect(c, TK_SEMI, "expected ';'");
    store_variable(c, name);
}

static void if_statement(compiler *c) {
    expect(c, TK_LPAREN, "expected '(' after if");
    expression(c);
    expect(c, TK_RPAREN, "expected ')'");
    int to_else = emit_jump(c, OP_JUMP_IF_FALSE);
    block(c);
    if (accept(c, TK_ELSE)) {
        int to_end = emit_jump(c, OP_JUMP);
        patch_jump(c, to_else);
        if (accept(c, TK_IF)) if_statement(c);
        else block(c);
        patch_jump(c, to_end);
    } else {
        patch_jump(c, to_else);
    }
}

static void while_statement(compiler *c) {
    int start = c->prog->length;
    expect(c, TK_LPAREN, "expected '(' after while");
    expression(c);
    expect(c, TK_RPAREN, "expected ')'");
    int to_end = emit_jump(c, OP_JUMP_IF_FALSE);
    block(c);
    emit_op_arg(c, OP_LOOP, start);
    patch_jump(c, to_end);
}

static void return_statement(compiler *c) {
    if (!c->in_function) compile_error(c, "return outside a function");
    if (accept(c, TK_SEMI)) emit_op(c, OP_NIL);
    else {
        expression(c);
        expect(c, TK_SEMI, "expected ';'");
    }
    emit_op(c, OP_RETURN);
}

/* An expression, or an assignment: the target was compiled as a read (a variable or an index), which
   is the last instruction; it is taken back and replaced by the matching store after the value. */
static void expression_statement(compiler *c) {
    expression(c);
    if (!accept(c, TK_ASSIGN)) {
        expect(c, TK_SEMI, "expected ';'");
        emit_op(c, OP_POP);
        return;
    }
    program *p = c->prog;
    opcode target = (opcode)p->code[c->last_op];
    int32_t slot = target == OP_INDEX ? 0 : p->code[c->last_op + 1];
    p->length = c->last_op;
    expression(c);
    expect(c, TK_SEMI, "expected ';'");
    if (target == OP_GET_LOCAL) emit_op_arg(c, OP_SET_LOCAL, slot);
    else if (target == OP_GET_GLOBAL) emit_op_arg(c, OP_SET_GLOBAL, slot);
    else if (target == OP_INDEX) emit_op(c, OP_SET_INDEX);
    else compile_error(c, "cannot assign to this");
}

static void block(compiler *c) {
    expect(c, TK_LBRACE, "expected '{'");
    while (!accept(c, TK_RBRACE)) {
        if (c->current.kind == TK_EOF) compile_error(c, "expected '}'");
        statement(c);
    }
}

static void statement(compiler *c) {
    if (accept(c, TK_LET)) let_statement(c);
    else if (accept(c, TK_IF)) if_statement(c);
    else if (accept(c, TK_WHILE)) while_statement(c);
    else if (accept(c, TK_RETURN)) return_statement(c);
    else expression_statement(c);
}

static void parameter_list(compiler *c, proto *f) {
    expect(c, TK_LPAREN, "expected '(' after the function's name");
    if (accept(c, TK_RPAREN)) return;
    do {
        expect(c, TK_IDENT, "expected a parameter name");
        declare_local(c, token_name(c->previous));
        f->arity++;
    } while (accept(c, TK_COMMA));
    expect(c, TK_RPAREN, "expected ')' after the parameters");
}

/* fn name(params) { body }: the body is compiled in place, jumped over, and the function stored in
   the global of its name when the declaration runs. */
static void function_declaration(compiler *c) {
    program *p = c->prog;
    if (c->in_function) compile_error(c, "functions are declared at the top level only");
    if (p->proto_count == PROTOS_MAX) compile_error(c, "too many functions");
    expect(c, TK_IDENT, "expected the function's name");
    proto *f = &p->protos[p->proto_count];
    f->name = token_name(c->previous);
    f->arity = 0;
    int skip = emit_jump(c, OP_JUMP);
    f->entry = p->length;
    c->in_function = 1;
    c->local_count = 0;
    parameter_list(c, f);
    block(c);
    emit_op(c, OP_NIL);
    emit_op(c, OP_RETURN);
    f->locals = c->local_count;
    c->in_function = 0;
    patch_jump(c, skip);
    emit_constant(c, fn_value(p->proto_count++));
    emit_op_arg(c, OP_SET_GLOBAL, resolve_global(c, f->name));
}

static void compile_program(program *p, const char *source) {
    compiler c;
    memset(&c, 0, sizeof c);
    c.lx.p = source;
    c.lx.line = 1;
    c.prog = p;
    advance(&c);
    while (!accept(&c, TK_EOF)) {
        if (accept(&c, TK_FN)) function_declaration(&c);
        else statement(&c);
    }
    emit_op(&c, OP_HALT);
}

static void program_free(program *p) {
    free(p->code);
    free(p->constants);
    memset(p, 0, sizeof *p);
}

/* ================================ the virtual machine ================================ */

static void push(value v) {
    if (vm.sp == STACK_MAX) fatal("stack overflow");
    vm.stack[vm.sp++] = v;
}

static value pop(void) { return vm.stack[--vm.sp]; }
static value peek(int distance) { return vm.stack[vm.sp - 1 - distance]; }
static value *local_ref(int slot) { return &vm.stack[vm.frames[vm.frame_count - 1].base + slot]; }

static int64_t expect_int(value v, const char *what) {
    if (!is_int(v)) fatal("%s: expected an int, got %s", what, type_name(v.type));
    return v.as.i;
}

static void value_to_buffer(strbuf *b, value v, int depth);

static void array_to_buffer(strbuf *b, const arr_obj *a, int depth) {
    strbuf_putc(b, '[');
    for (int i = 0; i < a->count; i++) {
        if (i) strbuf_append(b, ", ", 2);
        value_to_buffer(b, a->items[i], depth + 1);
    }
    strbuf_putc(b, ']');
}

static void value_to_buffer(strbuf *b, value v, int depth) {
    if (depth > 4) strbuf_append(b, "...", 3);
    else if (v.type == T_NIL) strbuf_append(b, "nil", 3);
    else if (v.type == T_INT) strbuf_append_int(b, v.as.i);
    else if (v.type == T_STR) strbuf_append(b, as_str(v)->chars, as_str(v)->length);
    else if (v.type == T_ARR) array_to_buffer(b, as_arr(v), depth);
    else if (v.type == T_MAP) {
        strbuf_append(b, "{map of ", 8);
        strbuf_append_int(b, as_map(v)->count);
        strbuf_putc(b, '}');
    } else {
        strbuf_append(b, "<fn ", 4);
        strbuf_append(b, vm.program->protos[v.as.i].name->chars, vm.program->protos[v.as.i].name->length);
        strbuf_putc(b, '>');
    }
}

static value value_to_string(value v) {
    if (is_str(v)) return v;
    strbuf b = {NULL, 0, 0};
    value_to_buffer(&b, v, 0);
    return strbuf_finish(&b);
}

static value concatenate(value a, value b) {
    str_obj *x = as_str(value_to_string(a)), *y = as_str(value_to_string(b));
    strbuf s = {NULL, 0, 0};
    strbuf_append(&s, x->chars, x->length);
    strbuf_append(&s, y->chars, y->length);
    return strbuf_finish(&s);
}

static value arith_add(value a, value b) {
    if (is_int(a) && is_int(b)) return int_value(wadd(a.as.i, b.as.i));
    if (is_str(a) || is_str(b)) return concatenate(a, b);
    fatal("cannot add %s and %s", type_name(a.type), type_name(b.type));
    return nil_value();
}

static value arith_sub(value a, value b) { return int_value(wsub(expect_int(a, "-"), expect_int(b, "-"))); }
static value arith_mul(value a, value b) { return int_value(wmul(expect_int(a, "*"), expect_int(b, "*"))); }
static value arith_div(value a, value b) { return int_value(safe_div(expect_int(a, "/"), expect_int(b, "/"))); }
static value arith_mod(value a, value b) { return int_value(safe_mod(expect_int(a, "%"), expect_int(b, "%"))); }

static int compare_values(value a, value b) {
    if (is_int(a) && is_int(b)) return (a.as.i > b.as.i) - (a.as.i < b.as.i);
    if (is_str(a) && is_str(b)) { /* the sign only: strcmp's magnitude differs between libraries */
        int order = strcmp(as_str(a)->chars, as_str(b)->chars);
        return (order > 0) - (order < 0);
    }
    fatal("cannot compare %s and %s", type_name(a.type), type_name(b.type));
    return 0;
}

static value equal_to(value a, value b) { return bool_value(values_equal(a, b)); }
static value not_equal_to(value a, value b) { return bool_value(!values_equal(a, b)); }
static value less_than(value a, value b) { return bool_value(compare_values(a, b) < 0); }
static value less_equal(value a, value b) { return bool_value(compare_values(a, b) <= 0); }
static value greater_than(value a, value b) { return bool_value(compare_values(a, b) > 0); }
static value greater_equal(value a, value b) { return bool_value(compare_values(a, b) >= 0); }

static value string_char(const str_obj *s, int64_t i) {
    if (i < 0 || i >= s->length) fatal("index %lld out of range (string of %d)", (long long)i, s->length);
    return str_value(s->chars + i, 1);
}

static value index_value(value container, value key) {
    if (is_arr(container)) return arr_get(as_arr(container), expect_int(key, "array index"));
    if (is_map(container)) return map_get(as_map(container), key, NULL);
    if (is_str(container)) return string_char(as_str(container), expect_int(key, "string index"));
    fatal("cannot index %s", type_name(container.type));
    return nil_value();
}

static void set_index_value(value container, value key, value v) {
    if (is_arr(container)) arr_set(as_arr(container), expect_int(key, "array index"), v);
    else if (is_map(container)) map_set(as_map(container), key, v);
    else fatal("cannot assign into %s", type_name(container.type));
}

/* MINIVM_SLOW_SPINS=N (environment; default 0): N turns of an empty loop in every apply_binary call, in
   apply_binary itself (no call, so no scope of its own): a planted slowdown of a function that holds
   about 15% of the run in self time, for bench/diff_noise.sh. It changes no output. */
static unsigned long slow_spins;

static void apply_binary(value (*operation)(value, value)) {
    for (volatile unsigned long spin = 0; spin < slow_spins; spin++) continue;
    value b = pop();
    value a = pop();
    push(operation(a, b));
}

static void make_array(int count) {
    arr_obj *a = arr_new(count);
    for (int i = 0; i < count; i++) a->items[i] = vm.stack[vm.sp - count + i];
    a->count = count;
    vm.sp -= count;
    push(obj_value(&a->header));
}

/* The callee and its arguments are on the stack; the new frame's locals start at the first argument. */
static int call_function(int argc, int return_pc) {
    value callee = peek(argc);
    if (callee.type != T_FN) fatal("cannot call %s", type_name(callee.type));
    const proto *f = &vm.program->protos[callee.as.i];
    if (argc != f->arity) fatal("%s takes %d arguments, not %d", f->name->chars, f->arity, argc);
    if (vm.frame_count == FRAMES_MAX) fatal("call depth exceeded");
    vm.frames[vm.frame_count].return_pc = return_pc;
    vm.frames[vm.frame_count].base = vm.sp - argc;
    vm.frame_count++;
    for (int i = f->arity; i < f->locals; i++) push(nil_value());
    return f->entry;
}

static int return_from_function(void) {
    value result = pop();
    frame *f = &vm.frames[--vm.frame_count];
    vm.sp = f->base - 1; /* the callee's slot too */
    push(result);
    return f->return_pc;
}

/* Not static, like an interpreter's dispatch loop in its own file: gcc would otherwise inline this
   function, called once, into run_script, and a sampling profiler would see no vm_run at all. */
void vm_run(program *p);
void vm_run(program *p) {
    const int32_t *code = p->code;
    int pc = 0;
    vm.program = p;
    vm.sp = 0;
    vm.frame_count = 1;
    vm.frames[0].base = 0;
    vm.frames[0].return_pc = -1;
    for (int i = 0; i < GLOBALS_MAX; i++) vm.globals[i] = nil_value();
    for (;;) {
        vm.instructions++;
        switch ((opcode)code[pc++]) {
        case OP_CONST: push(p->constants[code[pc++]]); break;
        case OP_NIL: push(nil_value()); break;
        case OP_POP: pop(); break;
        case OP_GET_LOCAL: push(*local_ref(code[pc++])); break;
        case OP_SET_LOCAL: *local_ref(code[pc++]) = pop(); break;
        case OP_GET_GLOBAL: push(vm.globals[code[pc++]]); break;
        case OP_SET_GLOBAL: vm.globals[code[pc++]] = pop(); break;
        case OP_ADD: apply_binary(arith_add); break;
        case OP_SUB: apply_binary(arith_sub); break;
        case OP_MUL: apply_binary(arith_mul); break;
        case OP_DIV: apply_binary(arith_div); break;
        case OP_MOD: apply_binary(arith_mod); break;
        case OP_NEG: push(int_value(wneg(expect_int(pop(), "unary -")))); break;
        case OP_NOT: push(bool_value(!truthy(pop()))); break;
        case OP_EQ: apply_binary(equal_to); break;
        case OP_NE: apply_binary(not_equal_to); break;
        case OP_LT: apply_binary(less_than); break;
        case OP_LE: apply_binary(less_equal); break;
        case OP_GT: apply_binary(greater_than); break;
        case OP_GE: apply_binary(greater_equal); break;
        case OP_JUMP: pc = code[pc]; break;
        case OP_JUMP_IF_FALSE: pc = truthy(pop()) ? pc + 1 : code[pc]; break;
        case OP_AND:
            if (!truthy(peek(0))) pc = code[pc];
            else { pop(); pc++; }
            break;
        case OP_OR:
            if (truthy(peek(0))) pc = code[pc];
            else { pop(); pc++; }
            break;
        case OP_LOOP:
            pc = code[pc];
            gc_safepoint();
            break;
        case OP_CALL:
            pc = call_function(code[pc], pc + 1);
            gc_safepoint();
            break;
        case OP_BUILTIN:
            call_builtin(code[pc], code[pc + 1]);
            pc += 2;
            break;
        case OP_RETURN: pc = return_from_function(); break;
        case OP_ARRAY: make_array(code[pc++]); break;
        case OP_INDEX: apply_binary(index_value); break;
        case OP_SET_INDEX: {
            value v = pop();
            value key = pop();
            set_index_value(pop(), key, v);
            break;
        }
        case OP_HALT: return;
        }
    }
}

/* ================================ builtins ================================ */
/* Each takes its arguments from the stack (args[0] is the first) and returns its result. The argument
   helpers check the types; builtins clamp out-of-range positions instead of failing. */

static int64_t int_arg(value *args, int i) { return expect_int(args[i], "builtin argument"); }

static str_obj *str_arg(value *args, int i) {
    if (!is_str(args[i])) fatal("builtin argument %d: expected a string, got %s", i, type_name(args[i].type));
    return as_str(args[i]);
}

static arr_obj *arr_arg(value *args, int i) {
    if (!is_arr(args[i])) fatal("builtin argument %d: expected an array, got %s", i, type_name(args[i].type));
    return as_arr(args[i]);
}

static map_obj *map_arg(value *args, int i) {
    if (!is_map(args[i])) fatal("builtin argument %d: expected a map, got %s", i, type_name(args[i].type));
    return as_map(args[i]);
}

static int clamp_position(int64_t i, int length) { return i < 0 ? 0 : i > length ? length : (int)i; }
static int64_t int_item(const arr_obj *a, int i) { return expect_int(a->items[i], "array item"); }
static value arr_value(arr_obj *a) { return obj_value(&a->header); }
static value map_value(map_obj *m) { return obj_value(&m->header); }
static value substring(const str_obj *s, int from, int to) { return str_value(s->chars + from, to > from ? to - from : 0); }

/* --- checksum, types --- */

static uint64_t value_hash(value v, int depth);

static uint64_t array_hash(const arr_obj *a, int depth) {
    uint64_t h = 0xa5a5u + (uint64_t)a->count;
    for (int i = 0; i < a->count; i++) h = mix64(h ^ value_hash(a->items[i], depth + 1));
    return h;
}

static uint64_t map_hash(const map_obj *m, int depth) {
    uint64_t h = 0x5a5au + (uint64_t)m->count;
    for (int i = 0; i < m->capacity; i++)
        if (!entry_is_free(&m->entries[i]))
            h += mix64(value_hash(m->entries[i].key, depth + 1) ^ (value_hash(m->entries[i].val, depth + 1) << 1));
    return h;
}

static uint64_t value_hash(value v, int depth) {
    if (depth > 6) return 1;
    switch (v.type) {
    case T_NIL: return 0x9e3779b97f4a7c15ull;
    case T_INT: return (uint64_t)v.as.i;
    case T_STR: return as_str(v)->hash ^ ((uint64_t)as_str(v)->length << 32);
    case T_ARR: return array_hash(as_arr(v), depth);
    case T_MAP: return map_hash(as_map(v), depth);
    case T_FN: return 0x1234u + (uint64_t)v.as.i;
    }
    return 0;
}

static value bi_check(value *args) {
    vm.checksum = mix64(vm.checksum ^ value_hash(args[0], 0));
    return nil_value();
}

static value bi_len(value *args) {
    if (is_str(args[0])) return int_value(as_str(args[0])->length);
    if (is_arr(args[0])) return int_value(as_arr(args[0])->count);
    if (is_map(args[0])) return int_value(as_map(args[0])->count);
    fatal("len of %s", type_name(args[0].type));
    return nil_value();
}

static value bi_type_of(value *args) { return cstr_value(type_name(args[0].type)); }
static value bi_rand_next(value *args) { return int_value((int64_t)((mix64((uint64_t)int_arg(args, 0)) >> 33) & 0x7fffffff)); }

/* --- strings --- */

static int find_from(const str_obj *s, const str_obj *part, int from) {
    for (int i = from; i + part->length <= s->length; i++)
        if (memcmp(s->chars + i, part->chars, (size_t)part->length) == 0) return i;
    return -1;
}

static value bi_concat(value *args) { return concatenate(args[0], args[1]); }

static value bi_substr(value *args) {
    str_obj *s = str_arg(args, 0);
    int from = clamp_position(int_arg(args, 1), s->length);
    return substring(s, from, clamp_position(from + int_arg(args, 2), s->length));
}

static value bi_find(value *args) { return int_value(find_from(str_arg(args, 0), str_arg(args, 1), 0)); }

static value bi_rfind(value *args) {
    str_obj *s = str_arg(args, 0), *part = str_arg(args, 1);
    for (int i = s->length - part->length; i >= 0; i--)
        if (memcmp(s->chars + i, part->chars, (size_t)part->length) == 0) return int_value(i);
    return int_value(-1);
}

static value bi_count_sub(value *args) {
    str_obj *s = str_arg(args, 0), *part = str_arg(args, 1);
    int count = 0;
    if (part->length == 0) return int_value(0);
    for (int i = find_from(s, part, 0); i >= 0; i = find_from(s, part, i + part->length)) count++;
    return int_value(count);
}

static value bi_starts_with(value *args) {
    str_obj *s = str_arg(args, 0), *part = str_arg(args, 1);
    return bool_value(part->length <= s->length && memcmp(s->chars, part->chars, (size_t)part->length) == 0);
}

static value bi_ends_with(value *args) {
    str_obj *s = str_arg(args, 0), *part = str_arg(args, 1);
    return bool_value(part->length <= s->length &&
                      memcmp(s->chars + s->length - part->length, part->chars, (size_t)part->length) == 0);
}

static value bi_contains(value *args) { return bool_value(find_from(str_arg(args, 0), str_arg(args, 1), 0) >= 0); }

static value bi_repeat(value *args) {
    str_obj *s = str_arg(args, 0);
    strbuf b = {NULL, 0, 0};
    for (int64_t i = 0; i < int_arg(args, 1) && i < 100; i++) strbuf_append(&b, s->chars, s->length);
    return strbuf_finish(&b);
}

static value bi_reverse(value *args) {
    str_obj *s = str_arg(args, 0);
    strbuf b = {NULL, 0, 0};
    for (int i = s->length - 1; i >= 0; i--) strbuf_putc(&b, s->chars[i]);
    return strbuf_finish(&b);
}

static int space_at(const str_obj *s, int i) { return isspace((unsigned char)s->chars[i]); }

static value bi_trim(value *args) {
    str_obj *s = str_arg(args, 0);
    int from = 0, to = s->length;
    while (from < to && space_at(s, from)) from++;
    while (to > from && space_at(s, to - 1)) to--;
    return substring(s, from, to);
}

static value bi_ltrim(value *args) {
    str_obj *s = str_arg(args, 0);
    int from = 0;
    while (from < s->length && space_at(s, from)) from++;
    return substring(s, from, s->length);
}

static value bi_rtrim(value *args) {
    str_obj *s = str_arg(args, 0);
    int to = s->length;
    while (to > 0 && space_at(s, to - 1)) to--;
    return substring(s, 0, to);
}

static value bi_char_at(value *args) {
    str_obj *s = str_arg(args, 0);
    int64_t i = int_arg(args, 1);
    return i >= 0 && i < s->length ? str_value(s->chars + i, 1) : cstr_value("");
}

static value bi_ord(value *args) {
    str_obj *s = str_arg(args, 0);
    return int_value(s->length ? (unsigned char)s->chars[0] : -1);
}

static value bi_chr(value *args) {
    char c = (char)(32 + (int_arg(args, 0) % 95 + 95) % 95); /* printable ASCII */
    return str_value(&c, 1);
}

static value bi_split(value *args) {
    str_obj *s = str_arg(args, 0), *sep = str_arg(args, 1);
    arr_obj *parts = arr_new(0);
    int from = 0;
    if (sep->length == 0) {
        arr_push(parts, args[0]);
        return arr_value(parts);
    }
    for (int at = find_from(s, sep, 0); at >= 0; at = find_from(s, sep, from)) {
        arr_push(parts, substring(s, from, at));
        from = at + sep->length;
    }
    arr_push(parts, substring(s, from, s->length));
    return arr_value(parts);
}

static value bi_join(value *args) {
    arr_obj *a = arr_arg(args, 0);
    str_obj *sep = str_arg(args, 1);
    strbuf b = {NULL, 0, 0};
    for (int i = 0; i < a->count; i++) {
        if (i) strbuf_append(&b, sep->chars, sep->length);
        value_to_buffer(&b, a->items[i], 1);
    }
    return strbuf_finish(&b);
}

static value bi_replace(value *args) {
    str_obj *s = str_arg(args, 0), *from = str_arg(args, 1), *to = str_arg(args, 2);
    strbuf b = {NULL, 0, 0};
    int i = 0;
    if (from->length == 0) return args[0];
    for (int at = find_from(s, from, 0); at >= 0; at = find_from(s, from, i)) {
        strbuf_append(&b, s->chars + i, at - i);
        strbuf_append(&b, to->chars, to->length);
        i = at + from->length;
    }
    strbuf_append(&b, s->chars + i, s->length - i);
    return strbuf_finish(&b);
}

static value bi_str_cmp(value *args) { return int_value(compare_values(args[0], args[1])); }

static value padded(str_obj *s, int64_t width, int left_share) {
    int pad = width > s->length ? (int)(width < 200 ? width : 200) - s->length : 0;
    int left = pad * left_share / 2;
    strbuf b = {NULL, 0, 0};
    for (int i = 0; i < left; i++) strbuf_putc(&b, '.');
    strbuf_append(&b, s->chars, s->length);
    for (int i = left; i < pad; i++) strbuf_putc(&b, '.');
    return strbuf_finish(&b);
}

static value bi_pad_left(value *args) { return padded(str_arg(args, 0), int_arg(args, 1), 2); }
static value bi_pad_right(value *args) { return padded(str_arg(args, 0), int_arg(args, 1), 0); }
static value bi_center(value *args) { return padded(str_arg(args, 0), int_arg(args, 1), 1); }

static value bi_squeeze(value *args) {
    str_obj *s = str_arg(args, 0);
    strbuf b = {NULL, 0, 0};
    for (int i = 0; i < s->length; i++)
        if (i == 0 || s->chars[i] != s->chars[i - 1]) strbuf_putc(&b, s->chars[i]);
    return strbuf_finish(&b);
}

static value bi_word_count(value *args) {
    str_obj *s = str_arg(args, 0);
    int count = 0;
    for (int i = 0; i < s->length; i++)
        if (!space_at(s, i) && (i == 0 || space_at(s, i - 1))) count++;
    return int_value(count);
}

static value bi_first_char(value *args) { str_obj *s = str_arg(args, 0); return substring(s, 0, s->length ? 1 : 0); }
static value bi_last_char(value *args) { str_obj *s = str_arg(args, 0); return substring(s, s->length ? s->length - 1 : 0, s->length); }
static value bi_is_empty(value *args) { return bool_value(str_arg(args, 0)->length == 0); }

static value bi_capitalize(value *args) {
    str_obj *s = str_arg(args, 0);
    strbuf b = {NULL, 0, 0};
    for (int i = 0; i < s->length; i++)
        strbuf_putc(&b, (char)(i ? tolower((unsigned char)s->chars[i]) : toupper((unsigned char)s->chars[i])));
    return strbuf_finish(&b);
}

static value bi_title_case(value *args) {
    str_obj *s = str_arg(args, 0);
    strbuf b = {NULL, 0, 0};
    for (int i = 0; i < s->length; i++) {
        int starts_word = i == 0 || space_at(s, i - 1);
        unsigned char c = (unsigned char)s->chars[i];
        strbuf_putc(&b, (char)(starts_word ? toupper(c) : tolower(c)));
    }
    return strbuf_finish(&b);
}

static value filter_by_set(const str_obj *s, const str_obj *set, int keep) {
    strbuf b = {NULL, 0, 0};
    for (int i = 0; i < s->length; i++) {
        int in_set = memchr(set->chars, s->chars[i], (size_t)set->length) != NULL;
        if (in_set == keep) strbuf_putc(&b, s->chars[i]);
    }
    return strbuf_finish(&b);
}

static value bi_remove_chars(value *args) { return filter_by_set(str_arg(args, 0), str_arg(args, 1), 0); }
static value bi_keep_chars(value *args) { return filter_by_set(str_arg(args, 0), str_arg(args, 1), 1); }

static value bi_common_prefix(value *args) {
    str_obj *a = str_arg(args, 0), *b = str_arg(args, 1);
    int n = 0;
    while (n < a->length && n < b->length && a->chars[n] == b->chars[n]) n++;
    return substring(a, 0, n);
}

static int min3(int a, int b, int c) { return a < b ? (a < c ? a : c) : (b < c ? b : c); }

static value bi_edit_distance(value *args) { /* Levenshtein, two rows */
    str_obj *a = str_arg(args, 0), *b = str_arg(args, 1);
    int *row = (int *)checked_realloc(NULL, sizeof(int) * (size_t)(b->length + 1) * 2), *next = row + b->length + 1;
    for (int j = 0; j <= b->length; j++) row[j] = j;
    for (int i = 1; i <= a->length; i++) {
        next[0] = i;
        for (int j = 1; j <= b->length; j++)
            next[j] = min3(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a->chars[i - 1] != b->chars[j - 1]));
        memcpy(row, next, sizeof(int) * (size_t)(b->length + 1));
    }
    int distance = row[b->length];
    free(row);
    return int_value(distance);
}

static value bi_is_palindrome(value *args) {
    str_obj *s = str_arg(args, 0);
    for (int i = 0, j = s->length - 1; i < j; i++, j--)
        if (s->chars[i] != s->chars[j]) return int_value(0);
    return int_value(1);
}

static int compare_chars(const void *a, const void *b) { return *(const char *)a - *(const char *)b; }

static value bi_sorted_chars(value *args) {
    str_obj *s = str_arg(args, 0);
    strbuf b = {NULL, 0, 0};
    strbuf_append(&b, s->chars, s->length);
    if (b.length > 1) qsort(b.chars, (size_t)b.length, 1, compare_chars);
    return strbuf_finish(&b);
}

static value bi_dedupe_chars(value *args) {
    str_obj *s = str_arg(args, 0);
    unsigned char seen[256] = {0};
    strbuf b = {NULL, 0, 0};
    for (int i = 0; i < s->length; i++) {
        unsigned char c = (unsigned char)s->chars[i];
        if (!seen[c]) strbuf_putc(&b, (char)c);
        seen[c] = 1;
    }
    return strbuf_finish(&b);
}

static value bi_max_char(value *args) {
    str_obj *s = str_arg(args, 0);
    int best = -1;
    for (int i = 0; i < s->length; i++)
        if ((unsigned char)s->chars[i] > best) best = (unsigned char)s->chars[i];
    return int_value(best);
}

static value bi_vowel_count(value *args) {
    str_obj *s = str_arg(args, 0);
    int count = 0;
    for (int i = 0; i < s->length; i++) count += strchr("aeiouAEIOU", s->chars[i]) != NULL && s->chars[i];
    return int_value(count);
}

/* Character classes, from <ctype.h>: count_CLASS, all_CLASS and keep_CLASS for each. */
typedef int (*char_predicate)(char c);

static int count_matching(const str_obj *s, char_predicate matches) {
    int count = 0;
    for (int i = 0; i < s->length; i++) count += matches(s->chars[i]);
    return count;
}

static value keep_matching(const str_obj *s, char_predicate matches) {
    strbuf b = {NULL, 0, 0};
    for (int i = 0; i < s->length; i++)
        if (matches(s->chars[i])) strbuf_putc(&b, s->chars[i]);
    return strbuf_finish(&b);
}

#define CHAR_CLASSES(X) X(alpha) X(digit) X(space) X(upper) X(lower) X(punct) X(xdigit) X(alnum) X(cntrl) X(graph) X(print)
#define DEFINE_CHAR_CLASS(cls)                                                                                   \
    static int char_is_##cls(char c) { return is##cls((unsigned char)c) != 0; }                                  \
    static value bi_count_##cls(value *args) { return int_value(count_matching(str_arg(args, 0), char_is_##cls)); } \
    static value bi_all_##cls(value *args) {                                                                      \
        str_obj *s = str_arg(args, 0);                                                                            \
        return bool_value(count_matching(s, char_is_##cls) == s->length);                                         \
    }                                                                                                             \
    static value bi_keep_##cls(value *args) { return keep_matching(str_arg(args, 0), char_is_##cls); }
CHAR_CLASSES(DEFINE_CHAR_CLASS)

/* Character maps: each builtin applies its function to every character. */
static char rot13_char(char c) {
    if (c >= 'a' && c <= 'z') return (char)('a' + (c - 'a' + 13) % 26);
    if (c >= 'A' && c <= 'Z') return (char)('A' + (c - 'A' + 13) % 26);
    return c;
}

static char atbash_char(char c) {
    if (c >= 'a' && c <= 'z') return (char)('z' - (c - 'a'));
    if (c >= 'A' && c <= 'Z') return (char)('Z' - (c - 'A'));
    return c;
}

static char leet_char(char c) {
    static const char from[] = "aeiost", to[] = "431057";
    const char *at = c ? strchr(from, c) : NULL;
    return at ? to[at - from] : c;
}

static char swapcase_char(char c) {
    unsigned char u = (unsigned char)c;
    return (char)(isupper(u) ? tolower(u) : islower(u) ? toupper(u) : u);
}

static value map_chars(const str_obj *s, char (*transform)(char)) {
    strbuf b = {NULL, 0, 0};
    strbuf_reserve(&b, s->length);
    for (int i = 0; i < s->length; i++) b.chars[b.length++] = transform(s->chars[i]);
    return strbuf_finish(&b);
}

#define CHAR_MAPS(X)                                                            \
    X(upper, (char)toupper((unsigned char)c))                                   \
    X(lower, (char)tolower((unsigned char)c))                                   \
    X(swapcase, swapcase_char(c))                                               \
    X(rot13, rot13_char(c))                                                     \
    X(atbash, atbash_char(c))                                                   \
    X(leet, leet_char(c))                                                       \
    X(mask_vowels, c && strchr("aeiouAEIOU", c) ? '*' : c)                      \
    X(underscores, c == ' ' ? '_' : c)                                          \
    X(shift_letters, (char)(c >= 'a' && c <= 'z' ? 'a' + (c - 'a' + 1) % 26 : c)) \
    X(hide_digits, isdigit((unsigned char)c) ? '#' : c)
#define DEFINE_CHAR_MAP(name, expr)                    \
    static char char_##name(char c) { return expr; } \
    static value bi_##name(value *args) { return map_chars(str_arg(args, 0), char_##name); }
CHAR_MAPS(DEFINE_CHAR_MAP)

/* String hashes, each a classic one-byte-at-a-time recurrence: h = step(h, c). */
static uint32_t elf_step(uint32_t h, uint32_t c) {
    h = (h << 4) + c;
    uint32_t high = h & 0xf0000000u;
    if (high) h ^= high >> 24;
    return h & ~high;
}

#define STRING_HASHES(X)                                           \
    X(djb2, 5381u, h * 33u + c)                                    \
    X(sdbm, 0u, c + (h << 6) + (h << 16) - h)                      \
    X(fnv1a, 2166136261u, (h ^ c) * 16777619u)                     \
    X(lose_lose, 0u, h + c)                                        \
    X(bkdr, 0u, h * 131u + c)                                      \
    X(js_hash, 1315423911u, h ^ ((h << 5) + c + (h >> 2)))         \
    X(rot_hash, 0u, (h << 4) ^ (h >> 28) ^ c)                      \
    X(elf_hash, 0u, elf_step(h, c))
#define DEFINE_STRING_HASH(name, init, step)                                                    \
    static value bi_##name(value *args) {                                                       \
        str_obj *s = str_arg(args, 0);                                                          \
        uint32_t h = init;                                                                      \
        for (int i = 0; i < s->length; i++) {                                                   \
            uint32_t c = (unsigned char)s->chars[i];                                            \
            h = step;                                                                           \
        }                                                                                       \
        return int_value(h);                                                                    \
    }
STRING_HASHES(DEFINE_STRING_HASH)

/* Adler-32 and Fletcher-16: two running sums modulo a prime (or 255), the second of the first. */
static value running_sums(const str_obj *s, uint32_t a, uint32_t modulus, int shift) {
    uint32_t b = 0;
    for (int i = 0; i < s->length; i++) {
        a = (a + (unsigned char)s->chars[i]) % modulus;
        b = (b + a) % modulus;
    }
    return int_value((int64_t)((b << shift) | a));
}

static value bi_adler32(value *args) { return running_sums(str_arg(args, 0), 1, 65521u, 16); }
static value bi_fletcher16(value *args) { return running_sums(str_arg(args, 0), 0, 255u, 8); }

/* --- conversions --- */

static value bi_str(value *args) { return value_to_string(args[0]); }

static value bi_int_of(value *args) {
    str_obj *s = str_arg(args, 0);
    int64_t n = 0;
    int i = s->length && s->chars[0] == '-';
    for (int j = i; j < s->length && isdigit((unsigned char)s->chars[j]); j++) n = wadd(wmul(n, 10), s->chars[j] - '0');
    return int_value(i ? wneg(n) : n);
}

static value in_base(int64_t n, unsigned base, const char *prefix) {
    static const char digits[] = "0123456789abcdef";
    char reversed[70];
    int count = 0;
    uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    do {
        reversed[count++] = digits[u % base];
        u /= base;
    } while (u);
    strbuf b = {NULL, 0, 0};
    if (n < 0) strbuf_putc(&b, '-');
    strbuf_append_cstr(&b, prefix);
    while (count) strbuf_putc(&b, reversed[--count]);
    return strbuf_finish(&b);
}

static value bi_hex(value *args) { return in_base(int_arg(args, 0), 16, "0x"); }
static value bi_bin(value *args) { return in_base(int_arg(args, 0), 2, "0b"); }
static value bi_oct(value *args) { return in_base(int_arg(args, 0), 8, "0o"); }

static value bi_from_hex(value *args) {
    str_obj *s = str_arg(args, 0);
    int64_t n = 0;
    for (int i = 0; i < s->length; i++) {
        unsigned char c = (unsigned char)s->chars[i];
        if (isxdigit(c)) n = wadd(wmul(n, 16), isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    return int_value(n);
}

static value bi_chars(value *args) {
    str_obj *s = str_arg(args, 0);
    arr_obj *a = arr_new(s->length);
    for (int i = 0; i < s->length; i++) arr_push(a, str_value(s->chars + i, 1));
    return arr_value(a);
}

static value bi_codes(value *args) {
    str_obj *s = str_arg(args, 0);
    arr_obj *a = arr_new(s->length);
    for (int i = 0; i < s->length; i++) arr_push(a, int_value((unsigned char)s->chars[i]));
    return arr_value(a);
}

static value bi_from_codes(value *args) {
    arr_obj *a = arr_arg(args, 0);
    strbuf b = {NULL, 0, 0};
    for (int i = 0; i < a->count; i++) strbuf_putc(&b, (char)(32 + (int_item(a, i) % 95 + 95) % 95));
    return strbuf_finish(&b);
}

static value bi_digits(value *args) {
    int64_t n = int_arg(args, 0);
    uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    arr_obj *a = arr_new(0);
    do {
        arr_push(a, int_value((int64_t)(u % 10)));
        u /= 10;
    } while (u);
    for (int i = 0, j = a->count - 1; i < j; i++, j--) {
        value t = a->items[i];
        a->items[i] = a->items[j];
        a->items[j] = t;
    }
    return arr_value(a);
}

static value bi_from_digits(value *args) {
    arr_obj *a = arr_arg(args, 0);
    int64_t n = 0;
    for (int i = 0; i < a->count; i++) n = wadd(wmul(n, 10), int_item(a, i) % 10);
    return int_value(n);
}

static value bi_to_bool(value *args) { return bool_value(truthy(args[0])); }

/* --- integers --- */

static int popcount64(uint64_t x) {
    int n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

static int trailing_zeros64(uint64_t x) {
    int n = 0;
    if (!x) return 64;
    for (; !(x & 1); x >>= 1) n++;
    return n;
}

static int bit_length64(uint64_t x) {
    int n = 0;
    for (; x; x >>= 1) n++;
    return n;
}

static int64_t rotl32(int64_t a, int64_t b) {
    uint32_t x = (uint32_t)a, r = (uint32_t)(b & 31);
    return r ? (x << r) | (x >> (32 - r)) : x;
}

static int64_t rotr32(int64_t a, int64_t b) { return rotl32(a, (32 - (b & 31)) & 31); }

static int is_prime_number(int64_t n) {
    if (n < 2) return 0;
    for (int64_t d = 2; d * d <= n; d++)
        if (n % d == 0) return 0;
    return 1;
}

static int64_t gcd(int64_t a, int64_t b) {
    a = a < 0 ? wneg(a) : a;
    b = b < 0 ? wneg(b) : b;
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

#define INT_UNARY_BUILTINS(X)                                            \
    X(neg, wneg(a))                                                      \
    X(abs, a < 0 ? wneg(a) : a)                                          \
    X(sign, (a > 0) - (a < 0))                                           \
    X(square, wmul(a, a))                                                \
    X(cube, wmul(wmul(a, a), a))                                         \
    X(bit_not, ~a)                                                       \
    X(popcount, popcount64((uint64_t)a))                                 \
    X(parity, popcount64((uint64_t)a) & 1)                               \
    X(triangle, wmul(a, wadd(a, 1)) / 2)                                 \
    X(twice, wmul(a, 2))                                                 \
    X(half, a / 2)                                                       \
    X(is_even, (a & 1) == 0)                                             \
    X(is_odd, (a & 1) != 0)                                              \
    X(low_byte, a & 255)                                                 \
    X(second_byte, (a >> 8) & 255)                                       \
    X(swap16, ((a & 255) << 8) | ((a >> 8) & 255))                       \
    X(mix, (int64_t)(mix64((uint64_t)a) >> 1))                           \
    X(is_pow2, a > 0 && (a & (a - 1)) == 0)                              \
    X(trailing_zeros, trailing_zeros64((uint64_t)a))                     \
    X(bit_length, bit_length64((uint64_t)a))
#define DEFINE_INT_UNARY(name, expr) \
    static value bi_##name(value *args) { int64_t a = int_arg(args, 0); return int_value(expr); }
INT_UNARY_BUILTINS(DEFINE_INT_UNARY)

#define INT_BINARY_BUILTINS(X)                                           \
    X(bit_and, a & b)                                                    \
    X(bit_or, a | b)                                                     \
    X(bit_xor, a ^ b)                                                    \
    X(shl, (int64_t)((uint64_t)a << (b & 63)))                           \
    X(shr, (int64_t)((uint64_t)a >> (b & 63)))                           \
    X(min, a < b ? a : b)                                                \
    X(max, a > b ? a : b)                                                \
    X(absdiff, a > b ? wsub(a, b) : wsub(b, a))                          \
    X(avg, (a & b) + ((a ^ b) >> 1))                                     \
    X(add32, (int32_t)(uint32_t)wadd(a, b))                              \
    X(mul32, (int64_t)(uint32_t)wmul(a, b))                              \
    X(idiv, safe_div(a, b))                                              \
    X(imod, safe_mod(a, b))                                              \
    X(ceil_div, b > 0 && a > 0 ? (a + b - 1) / b : safe_div(a, b))       \
    X(rotl, rotl32(a, b))                                                \
    X(rotr, rotr32(a, b))                                                \
    X(hamming, popcount64((uint64_t)(a ^ b)))                            \
    X(cmp, (a > b) - (a < b))                                            \
    X(gcd, gcd(a, b))                                                    \
    X(lcm, a && b ? wmul(a / gcd(a, b), b) : 0)
#define DEFINE_INT_BINARY(name, expr) \
    static value bi_##name(value *args) { int64_t a = int_arg(args, 0), b = int_arg(args, 1); return int_value(expr); }
INT_BINARY_BUILTINS(DEFINE_INT_BINARY)

static value bi_ipow(value *args) {
    int64_t base = int_arg(args, 0), result = 1;
    for (int64_t e = int_arg(args, 1); e > 0; e >>= 1) {
        if (e & 1) result = wmul(result, base);
        base = wmul(base, base);
    }
    return int_value(result);
}

static value bi_pow_mod(value *args) {
    int64_t base = int_arg(args, 0), e = int_arg(args, 1), m = int_arg(args, 2);
    uint64_t result = 1, b;
    if (m <= 0) return int_value(0);
    b = (uint64_t)(base % m + m) % (uint64_t)m;
    for (; e > 0; e >>= 1) {
        if (e & 1) result = result * b % (uint64_t)m;
        b = b * b % (uint64_t)m;
    }
    return int_value((int64_t)(result % (uint64_t)m));
}

static value bi_isqrt(value *args) {
    int64_t n = int_arg(args, 0), r = 0;
    if (n <= 0) return int_value(0);
    for (int64_t bit = (int64_t)1 << 62; bit; bit >>= 2) {
        if (n >= r + bit) {
            n -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
    }
    return int_value(r);
}

static value bi_ilog2(value *args) { return int_value(bit_length64((uint64_t)int_arg(args, 0)) - 1); }
static value bi_is_prime(value *args) { return bool_value(is_prime_number(int_arg(args, 0))); }

static value bi_next_prime(value *args) {
    int64_t n = int_arg(args, 0) + 1;
    while (!is_prime_number(n)) n++;
    return int_value(n);
}

static value bi_factorial_mod(value *args) {
    uint64_t f = 1;
    for (int64_t i = 2; i <= int_arg(args, 0); i++) f = f * (uint64_t)i % 1000000007u;
    return int_value((int64_t)f);
}

static value bi_fib_mod(value *args) {
    uint64_t a = 0, b = 1;
    for (int64_t i = 0; i < int_arg(args, 0); i++) {
        uint64_t t = (a + b) % 1000000007u;
        a = b;
        b = t;
    }
    return int_value((int64_t)a);
}

static value bi_digit_sum(value *args) {
    int64_t n = int_arg(args, 0), sum = 0;
    for (; n; n /= 10) sum += n % 10 < 0 ? -(n % 10) : n % 10;
    return int_value(sum);
}

static value bi_digit_count(value *args) {
    int64_t n = int_arg(args, 0);
    int count = 1;
    for (; n / 10; n /= 10) count++;
    return int_value(count);
}

static value bi_reverse_digits(value *args) {
    int64_t n = int_arg(args, 0), r = 0;
    for (; n; n /= 10) r = wadd(wmul(r, 10), n % 10);
    return int_value(r);
}

static value bi_collatz_steps(value *args) {
    int64_t n = int_arg(args, 0), steps = 0;
    for (; n > 1 && steps < 10000; steps++) n = n % 2 ? wadd(wmul(n, 3), 1) : n / 2;
    return int_value(steps);
}

static value bi_binomial(value *args) {
    int64_t n = int_arg(args, 0), k = int_arg(args, 1), r = 1;
    if (k < 0 || k > n) return int_value(0);
    if (k > n - k) k = n - k;
    for (int64_t i = 0; i < k && i < 30; i++) r = r * (n - i) / (i + 1);
    return int_value(r);
}

static value bi_clamp(value *args) {
    int64_t x = int_arg(args, 0), lo = int_arg(args, 1), hi = int_arg(args, 2);
    return int_value(x < lo ? lo : x > hi ? hi : x);
}

/* --- arrays --- */

static value bi_array(value *args) {
    int64_t n = int_arg(args, 0);
    arr_obj *a = arr_new(n > 0 ? (int)n : 0);
    for (int64_t i = 0; i < n; i++) arr_push(a, int_value(0));
    return arr_value(a);
}

static value bi_filled(value *args) {
    int64_t n = int_arg(args, 0);
    arr_obj *a = arr_new(n > 0 ? (int)n : 0);
    for (int64_t i = 0; i < n; i++) arr_push(a, args[1]);
    return arr_value(a);
}

static value bi_range(value *args) {
    int64_t from = int_arg(args, 0), to = int_arg(args, 1);
    arr_obj *a = arr_new(to > from ? (int)(to - from) : 0);
    for (int64_t i = from; i < to; i++) arr_push(a, int_value(i));
    return arr_value(a);
}

static value bi_push(value *args) {
    arr_push(arr_arg(args, 0), args[1]);
    return args[0];
}

static value bi_pop(value *args) { return arr_pop(arr_arg(args, 0)); }

static value bi_insert(value *args) {
    arr_obj *a = arr_arg(args, 0);
    int at = clamp_position(int_arg(args, 1), a->count);
    arr_push(a, nil_value());
    memmove(a->items + at + 1, a->items + at, sizeof(value) * (size_t)(a->count - 1 - at));
    a->items[at] = args[2];
    return args[0];
}

static value bi_remove_at(value *args) {
    arr_obj *a = arr_arg(args, 0);
    int64_t at = int_arg(args, 1);
    if (at < 0 || at >= a->count) return nil_value();
    value removed = a->items[at];
    memmove(a->items + at, a->items + at + 1, sizeof(value) * (size_t)(a->count - 1 - at));
    a->count--;
    return removed;
}

static arr_obj *copy_range(const arr_obj *a, int from, int to) {
    arr_obj *copy = arr_new(to > from ? to - from : 0);
    for (int i = from; i < to; i++) copy->items[copy->count++] = a->items[i];
    return copy;
}

static value bi_slice(value *args) {
    arr_obj *a = arr_arg(args, 0);
    int from = clamp_position(int_arg(args, 1), a->count);
    return arr_value(copy_range(a, from, clamp_position(int_arg(args, 2), a->count)));
}

static value bi_take(value *args) { arr_obj *a = arr_arg(args, 0); return arr_value(copy_range(a, 0, clamp_position(int_arg(args, 1), a->count))); }
static value bi_drop(value *args) { arr_obj *a = arr_arg(args, 0); return arr_value(copy_range(a, clamp_position(int_arg(args, 1), a->count), a->count)); }
static value bi_copy(value *args) { arr_obj *a = arr_arg(args, 0); return arr_value(copy_range(a, 0, a->count)); }

static value bi_reversed(value *args) {
    arr_obj *a = arr_arg(args, 0), *r = arr_new(a->count);
    for (int i = a->count - 1; i >= 0; i--) r->items[r->count++] = a->items[i];
    return arr_value(r);
}

static value bi_rotated(value *args) {
    arr_obj *a = arr_arg(args, 0), *r = arr_new(a->count);
    int64_t by = a->count ? int_arg(args, 1) % a->count : 0;
    for (int i = 0; i < a->count; i++) r->items[r->count++] = a->items[(i + by + a->count) % a->count];
    return arr_value(r);
}

static value bi_append_all(value *args) {
    arr_obj *a = arr_arg(args, 0), *b = arr_arg(args, 1), *r = copy_range(a, 0, a->count);
    for (int i = 0; i < b->count; i++) arr_push(r, b->items[i]);
    return arr_value(r);
}

static int compare_items(const void *x, const void *y) { return compare_values(*(const value *)x, *(const value *)y); }

static value bi_sorted(value *args) {
    arr_obj *a = arr_arg(args, 0), *r = copy_range(a, 0, a->count);
    if (r->count > 1) qsort(r->items, (size_t)r->count, sizeof(value), compare_items);
    return arr_value(r);
}

static value bi_is_sorted(value *args) {
    arr_obj *a = arr_arg(args, 0);
    for (int i = 1; i < a->count; i++)
        if (compare_values(a->items[i - 1], a->items[i]) > 0) return int_value(0);
    return int_value(1);
}

static value bi_index_of(value *args) {
    arr_obj *a = arr_arg(args, 0);
    for (int i = 0; i < a->count; i++)
        if (values_equal(a->items[i], args[1])) return int_value(i);
    return int_value(-1);
}

static value bi_has(value *args) { return bool_value(bi_index_of(args).as.i >= 0); }

static value bi_count_of(value *args) {
    arr_obj *a = arr_arg(args, 0);
    int count = 0;
    for (int i = 0; i < a->count; i++) count += values_equal(a->items[i], args[1]);
    return int_value(count);
}

static value bi_binary_search(value *args) { /* in a sorted array: the position of the first item >= x */
    arr_obj *a = arr_arg(args, 0);
    int lo = 0, hi = a->count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (compare_values(a->items[mid], args[1]) < 0) lo = mid + 1;
        else hi = mid;
    }
    return int_value(lo);
}

static value bi_unique(value *args) {
    arr_obj *a = arr_arg(args, 0), *r = arr_new(0);
    map_obj *seen = map_new();
    for (int i = 0; i < a->count; i++) {
        int found;
        map_get(seen, a->items[i], &found);
        if (!found) {
            map_set(seen, a->items[i], int_value(1));
            arr_push(r, a->items[i]);
        }
    }
    return arr_value(r);
}

static value bi_mean(value *args) {
    arr_obj *a = arr_arg(args, 0);
    int64_t sum = 0;
    for (int i = 0; i < a->count; i++) sum = wadd(sum, int_item(a, i));
    return int_value(a->count ? sum / a->count : 0);
}

static value bi_median(value *args) {
    value sorted = bi_sorted(args);
    arr_obj *s = as_arr(sorted);
    return s->count ? s->items[s->count / 2] : nil_value();
}

static value bi_zip_sum(value *args) {
    arr_obj *a = arr_arg(args, 0), *b = arr_arg(args, 1);
    int n = a->count < b->count ? a->count : b->count;
    arr_obj *r = arr_new(n);
    for (int i = 0; i < n; i++) r->items[r->count++] = int_value(wadd(int_item(a, i), int_item(b, i)));
    return arr_value(r);
}

static value bi_dot(value *args) {
    arr_obj *a = arr_arg(args, 0), *b = arr_arg(args, 1);
    int64_t sum = 0;
    for (int i = 0; i < a->count && i < b->count; i++) sum = wadd(sum, wmul(int_item(a, i), int_item(b, i)));
    return int_value(sum);
}

static value bi_prefix_sums(value *args) {
    arr_obj *a = arr_arg(args, 0), *r = arr_new(a->count);
    int64_t sum = 0;
    for (int i = 0; i < a->count; i++) r->items[r->count++] = int_value(sum = wadd(sum, int_item(a, i)));
    return arr_value(r);
}

static value bi_diffs(value *args) {
    arr_obj *a = arr_arg(args, 0), *r = arr_new(a->count);
    for (int i = 1; i < a->count; i++) r->items[r->count++] = int_value(wsub(int_item(a, i), int_item(a, i - 1)));
    return arr_value(r);
}

static value bi_chunk_sums(value *args) {
    arr_obj *a = arr_arg(args, 0), *r = arr_new(0);
    int64_t size = int_arg(args, 1) > 0 ? int_arg(args, 1) : 1, sum = 0;
    for (int i = 0; i < a->count; i++) {
        sum = wadd(sum, int_item(a, i));
        if ((i + 1) % size == 0 || i == a->count - 1) {
            arr_push(r, int_value(sum));
            sum = 0;
        }
    }
    return arr_value(r);
}

/* Folds, maps and filters over arrays of ints: one expression each, in terms of acc and x. */
#define ARRAY_FOLDS(X)                                   \
    X(sum, 0, wadd(acc, x))                              \
    X(product_mod, 1, wmul(acc, x % 1009) % 1000003)     \
    X(xor_all, 0, acc ^ x)                               \
    X(or_all, 0, acc | x)                                \
    X(and_all, -1, acc & x)                              \
    X(max_of, INT64_MIN, x > acc ? x : acc)              \
    X(min_of, INT64_MAX, x < acc ? x : acc)              \
    X(count_even, 0, acc + (x % 2 == 0))                 \
    X(count_odd, 0, acc + (x % 2 != 0))                  \
    X(count_positive, 0, acc + (x > 0))                  \
    X(count_negative, 0, acc + (x < 0))                  \
    X(count_zero, 0, acc + (x == 0))                     \
    X(sum_squares, 0, wadd(acc, wmul(x, x)))             \
    X(alternating_sum, 0, wsub(x, acc))                  \
    X(sum_abs, 0, wadd(acc, x < 0 ? wneg(x) : x))
#define DEFINE_ARRAY_FOLD(name, init, step)                                   \
    static value bi_##name(value *args) {                                     \
        arr_obj *a = arr_arg(args, 0);                                        \
        int64_t acc = init;                                                   \
        for (int i = 0; i < a->count; i++) {                                  \
            int64_t x = int_item(a, i);                                       \
            acc = step;                                                       \
        }                                                                     \
        return int_value(acc);                                                \
    }
ARRAY_FOLDS(DEFINE_ARRAY_FOLD)

#define ARRAY_MAPS(X)                                    \
    X(doubled, wmul(x, 2))                               \
    X(squared, wmul(x, x))                               \
    X(negated, wneg(x))                                  \
    X(incremented, wadd(x, 1))                           \
    X(halved, x / 2)                                     \
    X(absolutes, x < 0 ? wneg(x) : x)                    \
    X(last_digits, x % 10)                               \
    X(clamped_bytes, x < 0 ? 0 : x > 255 ? 255 : x)      \
    X(bit_counts, popcount64((uint64_t)x))
#define DEFINE_ARRAY_MAP(name, expr)                                          \
    static value bi_##name(value *args) {                                     \
        arr_obj *a = arr_arg(args, 0), *r = arr_new(a->count);                \
        for (int i = 0; i < a->count; i++) {                                  \
            int64_t x = int_item(a, i);                                       \
            r->items[r->count++] = int_value(expr);                           \
        }                                                                     \
        return arr_value(r);                                                  \
    }
ARRAY_MAPS(DEFINE_ARRAY_MAP)

#define ARRAY_FILTERS(X)                                 \
    X(evens, x % 2 == 0)                                 \
    X(odds, x % 2 != 0)                                  \
    X(positives, x > 0)                                  \
    X(negatives, x < 0)                                  \
    X(nonzero, x != 0)                                   \
    X(smalls, x > -100 && x < 100)                       \
    X(multiples_of3, x % 3 == 0)                         \
    X(primes_in, is_prime_number(x))
#define DEFINE_ARRAY_FILTER(name, keep)                                       \
    static value bi_##name(value *args) {                                     \
        arr_obj *a = arr_arg(args, 0), *r = arr_new(0);                       \
        for (int i = 0; i < a->count; i++) {                                  \
            int64_t x = int_item(a, i);                                       \
            if (keep) arr_push(r, a->items[i]);                               \
        }                                                                     \
        return arr_value(r);                                                  \
    }
ARRAY_FILTERS(DEFINE_ARRAY_FILTER)

/* --- maps --- */

static value bi_map(value *args) {
    (void)args;
    return map_value(map_new());
}

static value bi_map_get(value *args) { return map_get(map_arg(args, 0), args[1], NULL); }

static value bi_has_key(value *args) {
    int found;
    map_get(map_arg(args, 0), args[1], &found);
    return bool_value(found);
}

static value bi_map_set(value *args) {
    map_set(map_arg(args, 0), args[1], args[2]);
    return args[0];
}

static value bi_del_key(value *args) { return bool_value(map_delete(map_arg(args, 0), args[1])); }

static value bi_map_inc(value *args) {
    map_obj *m = map_arg(args, 0);
    value old = map_get(m, args[1], NULL);
    map_set(m, args[1], int_value(is_int(old) ? old.as.i + 1 : 1));
    return args[0];
}

/* Keys or values, in slot order: deterministic, since the hashes depend only on the contents. */
static value map_column(map_obj *m, int keys) {
    arr_obj *r = arr_new(m->count);
    for (int i = 0; i < m->capacity; i++)
        if (!entry_is_free(&m->entries[i])) r->items[r->count++] = keys ? m->entries[i].key : m->entries[i].val;
    return arr_value(r);
}

static value bi_keys(value *args) { return map_column(map_arg(args, 0), 1); }
static value bi_values(value *args) { return map_column(map_arg(args, 0), 0); }
static value bi_map_size(value *args) { return int_value(map_arg(args, 0)->count); }

static value bi_map_sum(value *args) {
    map_obj *m = map_arg(args, 0);
    int64_t sum = 0;
    for (int i = 0; i < m->capacity; i++)
        if (!entry_is_free(&m->entries[i]) && is_int(m->entries[i].val)) sum = wadd(sum, m->entries[i].val.as.i);
    return int_value(sum);
}

static value bi_max_key(value *args) { /* the key with the largest int value, the smaller key on ties */
    map_obj *m = map_arg(args, 0);
    const map_entry *best = NULL;
    for (int i = 0; i < m->capacity; i++) {
        const map_entry *e = &m->entries[i];
        if (entry_is_free(e) || !is_int(e->val)) continue;
        if (!best || e->val.as.i > best->val.as.i ||
            (e->val.as.i == best->val.as.i && compare_values(e->key, best->key) < 0))
            best = e;
    }
    return best ? best->key : nil_value();
}

static void copy_entries(map_obj *into, const map_obj *from) {
    for (int i = 0; i < from->capacity; i++)
        if (!entry_is_free(&from->entries[i])) map_set(into, from->entries[i].key, from->entries[i].val);
}

static value bi_map_copy(value *args) {
    map_obj *r = map_new();
    copy_entries(r, map_arg(args, 0));
    return map_value(r);
}

static value bi_map_merge(value *args) {
    map_obj *r = map_new();
    copy_entries(r, map_arg(args, 0));
    copy_entries(r, map_arg(args, 1));
    return map_value(r);
}

static value bi_word_counts(value *args) {
    value parts = bi_split(args);
    arr_obj *words = as_arr(parts);
    map_obj *m = map_new();
    for (int i = 0; i < words->count; i++) {
        value old = map_get(m, words->items[i], NULL);
        map_set(m, words->items[i], int_value(is_int(old) ? old.as.i + 1 : 1));
    }
    return map_value(m);
}

/* --- the table --- */
/* Argument kinds, for the generated tour: i and j ints (j small), s and t strings, a an array of ints,
   w an array of strings, m a map, v anything. */
#define REGISTER_CHAR_CLASS(cls) {"count_" #cls, "s", bi_count_##cls}, {"all_" #cls, "s", bi_all_##cls}, {"keep_" #cls, "s", bi_keep_##cls},
#define REGISTER_STRING_BUILTIN(name, ...) {#name, "s", bi_##name},
#define REGISTER_INT_UNARY(name, expr) {#name, "i", bi_##name},
#define REGISTER_INT_BINARY(name, expr) {#name, "ij", bi_##name},
#define REGISTER_ARRAY_BUILTIN(name, ...) {#name, "a", bi_##name},

static const builtin builtins[] = {
    {"check", "v", bi_check}, {"len", "s", bi_len}, {"type_of", "a", bi_type_of}, {"rand_next", "i", bi_rand_next},
    /* strings */
    {"concat", "st", bi_concat}, {"substr", "sjj", bi_substr}, {"find", "st", bi_find}, {"rfind", "st", bi_rfind},
    {"count_sub", "st", bi_count_sub}, {"starts_with", "st", bi_starts_with}, {"ends_with", "st", bi_ends_with},
    {"contains", "st", bi_contains}, {"repeat", "sj", bi_repeat}, {"reverse", "s", bi_reverse}, {"trim", "s", bi_trim},
    {"ltrim", "s", bi_ltrim}, {"rtrim", "s", bi_rtrim}, {"char_at", "sj", bi_char_at}, {"ord", "s", bi_ord},
    {"chr", "i", bi_chr}, {"split", "st", bi_split}, {"join", "wt", bi_join}, {"replace", "sts", bi_replace},
    {"str_cmp", "st", bi_str_cmp}, {"pad_left", "si", bi_pad_left}, {"pad_right", "si", bi_pad_right},
    {"center", "si", bi_center}, {"squeeze", "s", bi_squeeze}, {"word_count", "s", bi_word_count},
    {"first_char", "s", bi_first_char}, {"last_char", "s", bi_last_char}, {"is_empty", "s", bi_is_empty},
    {"capitalize", "s", bi_capitalize}, {"title_case", "s", bi_title_case}, {"remove_chars", "st", bi_remove_chars},
    {"keep_chars", "st", bi_keep_chars}, {"common_prefix", "st", bi_common_prefix},
    {"edit_distance", "st", bi_edit_distance}, {"is_palindrome", "s", bi_is_palindrome},
    {"sorted_chars", "s", bi_sorted_chars}, {"dedupe_chars", "s", bi_dedupe_chars}, {"max_char", "s", bi_max_char},
    {"vowel_count", "s", bi_vowel_count},
    CHAR_CLASSES(REGISTER_CHAR_CLASS)
    CHAR_MAPS(REGISTER_STRING_BUILTIN)
    STRING_HASHES(REGISTER_STRING_BUILTIN)
    {"adler32", "s", bi_adler32}, {"fletcher16", "s", bi_fletcher16},
    /* conversions */
    {"str", "a", bi_str}, {"int_of", "s", bi_int_of}, {"hex", "i", bi_hex}, {"bin", "i", bi_bin}, {"oct", "i", bi_oct},
    {"from_hex", "s", bi_from_hex}, {"chars", "s", bi_chars}, {"codes", "s", bi_codes},
    {"from_codes", "a", bi_from_codes}, {"digits", "i", bi_digits}, {"from_digits", "a", bi_from_digits},
    {"to_bool", "i", bi_to_bool},
    /* integers */
    INT_UNARY_BUILTINS(REGISTER_INT_UNARY)
    INT_BINARY_BUILTINS(REGISTER_INT_BINARY)
    {"ipow", "ij", bi_ipow}, {"pow_mod", "iji", bi_pow_mod}, {"isqrt", "i", bi_isqrt}, {"ilog2", "i", bi_ilog2},
    {"is_prime", "i", bi_is_prime}, {"next_prime", "i", bi_next_prime}, {"factorial_mod", "i", bi_factorial_mod},
    {"fib_mod", "i", bi_fib_mod}, {"digit_sum", "i", bi_digit_sum}, {"digit_count", "i", bi_digit_count},
    {"reverse_digits", "i", bi_reverse_digits}, {"collatz_steps", "i", bi_collatz_steps},
    {"binomial", "ij", bi_binomial}, {"clamp", "iji", bi_clamp},
    /* arrays */
    {"array", "j", bi_array}, {"filled", "ji", bi_filled}, {"range", "ji", bi_range}, {"push", "ai", bi_push},
    {"pop", "a", bi_pop}, {"insert", "aji", bi_insert}, {"remove_at", "aj", bi_remove_at}, {"slice", "ajj", bi_slice},
    {"take", "aj", bi_take}, {"drop", "aj", bi_drop}, {"copy", "a", bi_copy}, {"reversed", "a", bi_reversed},
    {"rotated", "aj", bi_rotated}, {"append_all", "aa", bi_append_all}, {"sorted", "a", bi_sorted},
    {"is_sorted", "a", bi_is_sorted}, {"index_of", "ai", bi_index_of}, {"has", "ai", bi_has},
    {"count_of", "ai", bi_count_of}, {"binary_search", "ai", bi_binary_search}, {"unique", "a", bi_unique},
    {"mean", "a", bi_mean}, {"median", "a", bi_median}, {"zip_sum", "aa", bi_zip_sum}, {"dot", "aa", bi_dot},
    {"prefix_sums", "a", bi_prefix_sums}, {"diffs", "a", bi_diffs}, {"chunk_sums", "aj", bi_chunk_sums},
    ARRAY_FOLDS(REGISTER_ARRAY_BUILTIN)
    ARRAY_MAPS(REGISTER_ARRAY_BUILTIN)
    ARRAY_FILTERS(REGISTER_ARRAY_BUILTIN)
    /* maps */
    {"map", "", bi_map}, {"map_get", "mt", bi_map_get}, {"has_key", "mt", bi_has_key}, {"map_set", "mti", bi_map_set},
    {"del_key", "mt", bi_del_key}, {"map_inc", "ms", bi_map_inc}, {"keys", "m", bi_keys}, {"values", "m", bi_values},
    {"map_size", "m", bi_map_size}, {"map_sum", "m", bi_map_sum}, {"max_key", "m", bi_max_key},
    {"map_copy", "m", bi_map_copy}, {"map_merge", "mm", bi_map_merge}, {"word_counts", "st", bi_word_counts},
};
static const int builtin_count = (int)(sizeof builtins / sizeof builtins[0]);

static int find_builtin(const char *name, int length) {
    for (int i = 0; i < builtin_count; i++)
        if ((int)strlen(builtins[i].name) == length && memcmp(builtins[i].name, name, (size_t)length) == 0) return i;
    return -1;
}

static int builtin_arity(int index) { return (int)strlen(builtins[index].args); }

/* The arguments are the top argc values of the stack; the result replaces them. */
static void call_builtin(int index, int argc) {
    value result = builtins[index].fn(&vm.stack[vm.sp - argc]);
    vm.sp -= argc;
    push(result);
}

/* ================================ the workload ================================ */

static const char *const SCRIPT_FUNCTIONS[] = {
    "# Small programs of the kind scripts run.\n",
    "fn fib(n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); }\n",
    "fn sieve(limit) {\n",
    "  let flags = filled(limit, 1);\n",
    "  let primes = [];\n",
    "  let i = 2;\n",
    "  while (i < limit) {\n",
    "    if (flags[i]) {\n",
    "      push(primes, i);\n",
    "      let j = i * i;\n",
    "      while (j < limit) { flags[j] = 0; j = j + i; }\n",
    "    }\n",
    "    i = i + 1;\n",
    "  }\n",
    "  return primes;\n",
    "}\n",
    "fn random_array(n, seed) {\n",
    "  let a = [];\n",
    "  while (len(a) < n) { seed = rand_next(seed); push(a, seed % 1000 - 300); }\n",
    "  return a;\n",
    "}\n",
    "fn insertion_sort(a) {\n",
    "  let i = 1;\n",
    "  while (i < len(a)) {\n",
    "    let x = a[i];\n",
    "    let j = i - 1;\n",
    "    while (j >= 0 && a[j] > x) { a[j + 1] = a[j]; j = j - 1; }\n",
    "    a[j + 1] = x;\n",
    "    i = i + 1;\n",
    "  }\n",
    "  return a;\n",
    "}\n",
    "fn make_words(n, seed) {\n",
    "  let syllables = [\"ka\", \"lo\", \"mi\", \"ne\", \"ru\", \"sa\", \"ti\", \"vo\", \"ze\", \"pu\"];\n",
    "  let words = [];\n",
    "  while (len(words) < n) {\n",
    "    seed = rand_next(seed);\n",
    "    let w = syllables[seed % 10] + syllables[(seed / 10) % 10];\n",
    "    if (seed % 3 == 0) { w = w + syllables[(seed / 100) % 10]; }\n",
    "    if (seed % 7 == 0) { w = w + (seed % 90); }\n",
    "    push(words, w);\n",
    "  }\n",
    "  return words;\n",
    "}\n",
    "fn count_words(words) {\n",
    "  let counts = map();\n",
    "  let i = 0;\n",
    "  while (i < len(words)) {\n",
    "    let w = words[i];\n",
    "    if (has_key(counts, w)) { counts[w] = counts[w] + 1; } else { counts[w] = 1; }\n",
    "    i = i + 1;\n",
    "  }\n",
    "  return counts;\n",
    "}\n",
    "fn build_text(words, n) {\n",
    "  let text = \"\";\n",
    "  let i = 0;\n",
    "  while (i < n) { text = text + words[i] + \" \"; i = i + 1; }\n",
    "  return text;\n",
    "}\n",
    "fn tree_insert(node, v) {\n",
    "  if (node == nil) { return [v, nil, nil]; }\n",
    "  if (v < node[0]) { node[1] = tree_insert(node[1], v); } else { node[2] = tree_insert(node[2], v); }\n",
    "  return node;\n",
    "}\n",
    "fn tree_sum(node) { if (node == nil) { return 0; } return node[0] + tree_sum(node[1]) + tree_sum(node[2]); }\n",
    "fn tree_depth(node) {\n",
    "  if (node == nil) { return 0; }\n",
    "  return 1 + max(tree_depth(node[1]), tree_depth(node[2]));\n",
    "}\n",
    "fn matrix_product(a, b, n) {\n",
    "  let c = array(n * n);\n",
    "  let i = 0;\n",
    "  while (i < n) {\n",
    "    let j = 0;\n",
    "    while (j < n) {\n",
    "      let k = 0; let s = 0;\n",
    "      while (k < n) { s = s + a[i * n + k] * b[k * n + j]; k = k + 1; }\n",
    "      c[i * n + j] = s % 100003;\n",
    "      j = j + 1;\n",
    "    }\n",
    "    i = i + 1;\n",
    "  }\n",
    "  return c;\n",
    "}\n",
    NULL,
};

static const char *const SCRIPT_MAIN[] = {
    "# Each round: the programs above, then the tour of every builtin on a few inputs.\n",
    "let round = 0;\n",
    "while (round < 3) {\n",
    "  check(fib(16 + round));\n",
    "  let primes = sieve(3000 + round * 100);\n",
    "  check(len(primes)); check(sum(primes));\n",
    "  let nums = insertion_sort(random_array(200, round + 1));\n",
    "  check(nums);\n",
    "  let words = make_words(300, round + 7);\n",
    "  let counts = count_words(words);\n",
    "  check(map_size(counts)); check(max_key(counts));\n",
    "  check(build_text(words, 120));\n",
    "  let tree = nil; let i = 0;\n",
    "  while (i < 300) { tree = tree_insert(tree, rand_next(i + round) % 5000); i = i + 1; }\n",
    "  check(tree_sum(tree)); check(tree_depth(tree));\n",
    "  let m = range(0, 144);\n",
    "  check(sum(matrix_product(m, reversed(m), 12)));\n",
    "  let t = 0;\n",
    "  while (t < 4) {\n",
    "    tour(t * 13 + round, t + 2, words[t] + \" \" + words[t + 1], words[t + 2], slice(nums, t * 10, t * 10 + 40),\n",
    "         slice(words, t, t + 10), counts);\n",
    "    t = t + 1;\n",
    "  }\n",
    "  round = round + 1;\n",
    "}\n",
    NULL,
};

/* The script's variable passed for each argument kind of the builtin table. */
static const char *tour_argument(char kind) {
    switch (kind) {
    case 'i': return "n";
    case 'j': return "k";
    case 's': return "word";
    case 't': return "part";
    case 'w': return "words";
    case 'm': return "counts";
    default: return "nums";
    }
}

/* fn tour(...) { check(BUILTIN(ARGUMENTS)); ... }: one line per builtin, from the table. */
static void append_tour(strbuf *b) {
    strbuf_append_cstr(b, "fn tour(n, k, word, part, nums, words, counts) {\n");
    for (int i = 0; i < builtin_count; i++) {
        if (strcmp(builtins[i].name, "check") == 0) continue;
        strbuf_append_cstr(b, "  check(");
        strbuf_append_cstr(b, builtins[i].name);
        strbuf_putc(b, '(');
        for (const char *kind = builtins[i].args; *kind; kind++) {
            if (kind != builtins[i].args) strbuf_append(b, ", ", 2);
            strbuf_append_cstr(b, tour_argument(*kind));
        }
        strbuf_append_cstr(b, "));\n");
    }
    strbuf_append_cstr(b, "}\n");
}

static char *build_script(void) {
    strbuf b = {NULL, 0, 0};
    for (int i = 0; SCRIPT_FUNCTIONS[i]; i++) strbuf_append_cstr(&b, SCRIPT_FUNCTIONS[i]);
    append_tour(&b);
    for (int i = 0; SCRIPT_MAIN[i]; i++) strbuf_append_cstr(&b, SCRIPT_MAIN[i]);
    strbuf_putc(&b, '\0');
    return b.chars;
}

static void run_script(const char *source) {
    program p;
    memset(&p, 0, sizeof p);
    compile_program(&p, source);
    vm_run(&p);
    program_free(&p);
}

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : DEFAULT_SCALE;
    if (argc > 2 || scale < 1) {
        fprintf(stderr, "usage: minivm [SCALE]   (SCALE >= 1, default %d)\n", DEFAULT_SCALE);
        return 2;
    }
    const char *spins = getenv("MINIVM_SLOW_SPINS");
    if (spins) slow_spins = strtoul(spins, NULL, 10);
    char *source = build_script();
    for (int i = 0; i < scale; i++) run_script(source);
    printf("minivm: scale %d, checksum %016llx, %llu instructions, %d collections\n", scale,
           (unsigned long long)vm.checksum, (unsigned long long)vm.instructions, heap.collections);
    free(source);
    free_heap();
    return 0;
}
