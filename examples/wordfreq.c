/* wordfreq - count the words of a generated text and print the most frequent ones.
   It has a deliberately slow part for the profile to find: find_word() looks each word up by a
   linear scan of every word seen so far, where a hash table would take one probe.

   Build and run:  make demo     (or: cc -O2 wordfreq.c -lpthread -lm && CPROF_OUT=wordfreq ./a.out)
   The optimised build, with a hash table: cc -O2 -DWORDFREQ_HASH wordfreq.c ... (see `cprof diff` in the README). */
#define CPROF_IMPLEMENTATION
#include "../cprof.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#ifndef WORDFREQ_WORDS
#define WORDFREQ_WORDS 200000 /* make test's emulated platforms (qemu, Wine) run 20,000 */
#endif
enum { WORDS = WORDFREQ_WORDS, MAX_DISTINCT = 4096, MAX_WORD = 32 };

typedef struct entry {
    char word[MAX_WORD];
    int count;
} entry;

static entry table[MAX_DISTINCT];
static int distinct;

/* A text of WORDS words over a vocabulary of about 2,000, skewed so that some words are common. */
static char *generate_text(void) {
    CPROF_SCOPE();
    static const char *syllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pu", "da", "fe"};
    char *text = (char *)malloc((size_t)WORDS * 8);
    size_t length = 0;
    uint32_t seed = 12345;
    for (int w = 0; w < WORDS; w++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t r = (seed >> 8) % 2000u;
        r = r * r / 2000u; /* skew towards small numbers */
        for (int s = 0; s < 3; s++) {
            memcpy(text + length, syllables[r % 12u], 2);
            length += 2;
            r /= 12u;
        }
        text[length++] = (w % 17 == 16) ? '.' : ' ';
    }
    text[length] = '\0';
    return text;
}

#ifndef WORDFREQ_HASH
/* The bottleneck: a linear scan over every distinct word so far. */
static entry *find_word(const char *word) {
    CPROF_SCOPE();
    for (int i = 0; i < distinct; i++)
        if (strcmp(table[i].word, word) == 0) return &table[i];
    return NULL;
}

static void remember_word(entry *e) { (void)e; }
#else
/* The optimisation (build with -DWORDFREQ_HASH): an open-addressing hash table of indexes into table[],
   so that a lookup is one probe or a few. `cprof diff` compares the two builds. */
enum { SLOTS = 2 * MAX_DISTINCT };
static int slots[SLOTS]; /* index + 1 into table[]; 0 = empty */

static unsigned slot_of(const char *word) {
    unsigned hash = 2166136261u; /* FNV-1a */
    for (const char *c = word; *c; c++) hash = (hash ^ (unsigned char)*c) * 16777619u;
    unsigned slot = hash % SLOTS;
    while (slots[slot] && strcmp(table[slots[slot] - 1].word, word) != 0) slot = (slot + 1) % SLOTS;
    return slot;
}

static entry *find_word(const char *word) {
    CPROF_SCOPE();
    int index = slots[slot_of(word)];
    return index ? &table[index - 1] : NULL;
}

static void remember_word(entry *e) { slots[slot_of(e->word)] = (int)(e - table) + 1; }
#endif

static void count_word(const char *word) {
    CPROF_SCOPE();
    entry *e = find_word(word);
    if (!e && distinct < MAX_DISTINCT) {
        e = &table[distinct++];
        strcpy(e->word, word);
        remember_word(e);
    }
    if (e) e->count++;
}

static void count_words(const char *text) {
    CPROF_SCOPE();
    char word[MAX_WORD];
    size_t length = 0;
    for (const char *c = text;; c++) {
        if (isalpha((unsigned char)*c)) {
            if (length < MAX_WORD - 1) word[length++] = (char)tolower((unsigned char)*c);
            continue;
        }
        if (length) {
            word[length] = '\0';
            count_word(word);
            length = 0;
        }
        if (!*c) break;
    }
}

static int by_count(const void *a, const void *b) {
    const entry *x = (const entry *)a, *y = (const entry *)b;
    return x->count != y->count ? y->count - x->count : strcmp(x->word, y->word);
}

static void sort_words(void) {
    CPROF_SCOPE();
    qsort(table, (size_t)distinct, sizeof table[0], by_count);
}

int main(void) {
    CPROF_SCOPE();
    char *text = generate_text();
    count_words(text);
    sort_words();
    printf("%d distinct words; the most frequent:\n", distinct);
    for (int i = 0; i < 5 && i < distinct; i++) printf("  %-8s %d\n", table[i].word, table[i].count);
    free(text);
    if (!getenv("CPROF_OUT")) {
        printf("\n");
        cprof_report_print(stdout);
    }
    return 0;
}
