/*
 * The rule language's lexer: text to tokens, `define` variables expanded.
 *
 * nft's own scanner knows each keyword; this one cuts words generously (a
 * word runs over letters, digits and _ . : / - + * [ ], so that
 * 10.0.0.0/8, fe80::1, [2001:db8::1]:80, 1024-65535 and -300 are one token
 * each) and leaves their meaning to the parser, which splits ranges and
 * map pairs where the grammar expects them. Newlines are tokens because nft
 * ends a rule at the end of its line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

int ct_rules_error_at(struct rules_err *e, int code, uint32_t line, uint32_t col,
                      const char *fmt, ...)
{
    if (e->code == 0) {
        e->code = code;
        if (e->out) {
            va_list ap;
            e->out->line = line;
            e->out->col = col;
            va_start(ap, fmt);
            vsnprintf(e->out->msg, sizeof(e->out->msg), fmt, ap);
            va_end(ap);
        }
    }
    return e->code;
}

static int word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '/' || c == '-' || c == '+' || c == '*' || c == '[' ||
           c == ']';
}

struct tokbuf {
    struct tok *t;
    size_t n, cap;
};

static int push(struct tokbuf *b, const struct tok *t, struct rules_err *e)
{
    if (b->n >= RULES_MAX_TOKENS)
        return ct_rules_error_at(e, -E2BIG, t->line, t->col, "more than %u tokens",
                                 RULES_MAX_TOKENS);
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        struct tok *nt = realloc(b->t, cap * sizeof(*nt));
        if (!nt)
            return ct_rules_error_at(e, -ENOMEM, t->line, t->col, "out of memory");
        b->t = nt;
        b->cap = cap;
    }
    b->t[b->n++] = *t;
    return 0;
}

/* Cuts the raw tokens, variables unexpanded. */
static int cut(const char *text, size_t len, struct tokbuf *b, struct rules_err *e)
{
    const char *p = text, *end = text + len;
    uint32_t line = 1, col = 1;

    while (p < end) {
        unsigned char c = (unsigned char)*p;
        struct tok t = {.s = p, .len = 1, .line = line, .col = col};
        if (c == '\n') {
            t.kind = TOK_NL;
            p++;
            line++;
            col = 1;
            if (push(b, &t, e))
                return e->code;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            p++;
            col++;
            continue;
        }
        if (c == '\\' && p + 1 < end && p[1] == '\n') { /* continuation */
            p += 2;
            line++;
            col = 1;
            continue;
        }
        if (c == '#') {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        if (c == '"') {
            const char *q = p + 1;
            while (q < end && *q != '"' && *q != '\n')
                q++;
            if (q >= end || *q != '"')
                return ct_rules_error_at(e, -EINVAL, line, col, "unterminated string");
            t.kind = TOK_STRING;
            t.s = p + 1;
            t.len = (uint32_t)(q - p - 1);
            if (t.len > RULES_MAX_TOKEN_LEN)
                return ct_rules_error_at(e, -E2BIG, line, col, "string longer than %u bytes",
                                         RULES_MAX_TOKEN_LEN);
            col += (uint32_t)(q + 1 - p);
            p = q + 1;
            if (push(b, &t, e))
                return e->code;
            continue;
        }
        if (c == '$' || c == '@' || word_char(c)) {
            const char *q = (c == '$' || c == '@') ? p + 1 : p;
            while (q < end && word_char((unsigned char)*q))
                q++;
            t.kind = c == '$' ? TOK_VAR : c == '@' ? TOK_SETREF : TOK_WORD;
            t.s = c == '$' || c == '@' ? p + 1 : p;
            t.len = (uint32_t)(q - t.s);
            if (t.len == 0)
                return ct_rules_error_at(e, -EINVAL, line, col, "'%c' without a name", c);
            if (t.len > RULES_MAX_TOKEN_LEN)
                return ct_rules_error_at(e, -E2BIG, line, col, "word longer than %u bytes",
                                         RULES_MAX_TOKEN_LEN);
            col += (uint32_t)(q - p);
            p = q;
            if (push(b, &t, e))
                return e->code;
            continue;
        }
        char n1 = p + 1 < end ? p[1] : 0;
        switch (c) {
        case '{': t.kind = TOK_LBRACE; break;
        case '}': t.kind = TOK_RBRACE; break;
        case ';': t.kind = TOK_SEMI; break;
        case ',': t.kind = TOK_COMMA; break;
        case '=':
            t.kind = TOK_EQ;
            t.len = n1 == '=' ? 2 : 1;
            break;
        case '!':
            if (n1 != '=')
                return ct_rules_error_at(e, -EINVAL, line, col, "'!' without '='");
            t.kind = TOK_NE;
            t.len = 2;
            break;
        case '<':
            t.kind = n1 == '=' ? TOK_LE : TOK_LT;
            t.len = n1 == '=' ? 2 : 1;
            break;
        case '>':
            t.kind = n1 == '=' ? TOK_GE : TOK_GT;
            t.len = n1 == '=' ? 2 : 1;
            break;
        default:
            if (c >= 0x20 && c < 0x7f)
                return ct_rules_error_at(e, -EINVAL, line, col, "unexpected character '%c'", c);
            return ct_rules_error_at(e, -EINVAL, line, col, "unexpected byte 0x%02x", c);
        }
        p += t.len;
        col += t.len;
        if (push(b, &t, e))
            return e->code;
    }
    struct tok eof = {.s = end, .len = 0, .line = line, .col = col, .kind = TOK_EOF};
    return push(b, &eof, e);
}

struct define {
    const char *name;
    uint32_t len;
    size_t off, n; /* expanded value in the output buffer's define area */
};

static int tok_is(const struct tok *t, const char *w)
{
    size_t l = strlen(w);
    return t->kind == TOK_WORD && t->len == l && memcmp(t->s, w, l) == 0;
}

/*
 * Expands variables. `define NAME = VALUE` runs to the end of its line (or
 * a ';' outside braces, or over lines while a brace is open); its value is
 * expanded when it is defined, so a variable used before its define is an
 * error, as in nft, and recursion cannot happen.
 */
static int expand(const struct tokbuf *in, struct tokbuf *out, struct rules_err *e)
{
    struct define defs[RULES_MAX_DEFINES];
    unsigned ndefs = 0;
    struct tokbuf vals = {0};
    int rc = 0;
    int line_start = 1;

    for (size_t i = 0; i < in->n && rc == 0; i++) {
        const struct tok *t = &in->t[i];
        if (line_start && tok_is(t, "define")) {
            const struct tok *name = &in->t[i + 1];
            if (name->kind != TOK_WORD) {
                rc = ct_rules_error_at(e, -EINVAL, name->line, name->col,
                                       "define: a variable name expected");
                break;
            }
            if (in->t[i + 2].kind != TOK_EQ) {
                rc = ct_rules_error_at(e, -EINVAL, in->t[i + 2].line, in->t[i + 2].col,
                                       "define %.*s: '=' expected", (int)name->len, name->s);
                break;
            }
            if (ndefs == RULES_MAX_DEFINES) {
                rc = ct_rules_error_at(e, -E2BIG, t->line, t->col, "more than %u defines",
                                       RULES_MAX_DEFINES);
                break;
            }
            for (unsigned d = 0; d < ndefs; d++)
                if (defs[d].len == name->len && memcmp(defs[d].name, name->s, name->len) == 0) {
                    rc = ct_rules_error_at(e, -EINVAL, name->line, name->col,
                                           "define %.*s: already defined", (int)name->len,
                                           name->s);
                    break;
                }
            if (rc)
                break;
            struct define *d = &defs[ndefs];
            d->name = name->s;
            d->len = name->len;
            d->off = vals.n;
            int depth = 0;
            size_t j = i + 3;
            for (; in->t[j].kind != TOK_EOF; j++) {
                const struct tok *v = &in->t[j];
                if (depth == 0 && (v->kind == TOK_NL || v->kind == TOK_SEMI))
                    break;
                if (v->kind == TOK_NL)
                    continue;
                if (v->kind == TOK_LBRACE)
                    depth++;
                if (v->kind == TOK_RBRACE && --depth < 0) {
                    rc = ct_rules_error_at(e, -EINVAL, v->line, v->col, "unbalanced '}'");
                    break;
                }
                if (v->kind == TOK_VAR) {
                    unsigned k;
                    for (k = 0; k < ndefs; k++)
                        if (defs[k].len == v->len && memcmp(defs[k].name, v->s, v->len) == 0)
                            break;
                    if (k == ndefs) {
                        rc = ct_rules_error_at(e, -EINVAL, v->line, v->col,
                                               "undefined variable $%.*s", (int)v->len, v->s);
                        break;
                    }
                    for (size_t x = 0; x < defs[k].n && rc == 0; x++)
                        rc = push(&vals, &vals.t[defs[k].off + x], e);
                    continue;
                }
                rc = push(&vals, v, e);
                if (rc)
                    break;
            }
            if (rc)
                break;
            if (depth > 0) {
                rc = ct_rules_error_at(e, -EINVAL, name->line, name->col,
                                       "define %.*s: '}' missing", (int)name->len, name->s);
                break;
            }
            d->n = vals.n - d->off;
            if (d->n == 0) {
                rc = ct_rules_error_at(e, -EINVAL, name->line, name->col,
                                       "define %.*s: empty value", (int)name->len, name->s);
                break;
            }
            ndefs++;
            i = j - 1; /* the terminator itself is kept */
            continue;
        }
        line_start = t->kind == TOK_NL || t->kind == TOK_SEMI || t->kind == TOK_LBRACE ||
                     t->kind == TOK_RBRACE;
        if (t->kind == TOK_VAR) {
            unsigned k;
            for (k = 0; k < ndefs; k++)
                if (defs[k].len == t->len && memcmp(defs[k].name, t->s, t->len) == 0)
                    break;
            if (k == ndefs) {
                rc = ct_rules_error_at(e, -EINVAL, t->line, t->col, "undefined variable $%.*s",
                                       (int)t->len, t->s);
                break;
            }
            /* The value's tokens take the position of the use, so that an
             * error in them points where the variable was used. */
            for (size_t x = 0; x < defs[k].n && rc == 0; x++) {
                struct tok v = vals.t[defs[k].off + x];
                v.line = t->line;
                v.col = t->col;
                rc = push(out, &v, e);
            }
            continue;
        }
        rc = push(out, t, e);
    }
    free(vals.t);
    return rc;
}

struct tok *ct_rules_lex(const char *text, size_t len, size_t *n, struct rules_err *e)
{
    struct tokbuf raw = {0}, out = {0};
    if (len > RULES_MAX_TEXT) {
        ct_rules_error_at(e, -E2BIG, 0, 0, "rules text larger than %u bytes", RULES_MAX_TEXT);
        return NULL;
    }
    if (cut(text, len, &raw, e) != 0 || expand(&raw, &out, e) != 0) {
        free(raw.t);
        free(out.t);
        return NULL;
    }
    free(raw.t);
    *n = out.n;
    return out.t;
}
