/*
 * redact.c
 *		The text of a statement as the audit log may show it: no secret and no
 *		comment of what the client sent survives.
 *
 * The event triggers record debug_query_string, the whole query string the
 * client sent, which can hold several statements; a trigger is not told
 * which of them is running.  So the whole text is redacted, with
 * PostgreSQL's own scanner finding the tokens (literals of every kind,
 * quoted identifiers, keywords) exactly as the parser saw them:
 *
 *	- Comments are removed wherever they are, with the blanks before them; a
 *	  comment on a line of its own goes with its line.  Where removing one
 *	  would join two tokens, one space is left.  What looks like a comment
 *	  inside a literal is the literal's text (but see routine bodies).
 *	- A statement (up to the ';' that ends it outside parentheses) that may
 *	  set a tenancy.aws_* setting shows none of its literals and numbers, and
 *	  none of the values after a TO or '=' of its top level, whatever they
 *	  are (SET ... TO SECRET, SET ... = 'x', 'y').  Such a statement is one
 *	  that names tenancy.aws_* (any case, quoted or not, U& escapes
 *	  decoded, or inside a literal: "aws_" anywhere in a string), calls
 *	  set_config or names pg_settings (either may take the name from
 *	  elsewhere), or holds a U& literal or identifier whose escapes do not
 *	  decode.
 *	- A literal that follows the word PASSWORD or CONNECTION, mentions a
 *	  password (connection strings) or is one of OPTIONS (...) (of servers,
 *	  user mappings, foreign data wrappers and tables) is not shown, in
 *	  whichever statement of the text it is; with all_literals no literal
 *	  is (for the rows of those commands).
 *	- The body of DO or of CREATE FUNCTION / PROCEDURE is a literal, but in
 *	  LANGUAGE sql or plpgsql it is code that may hold comments and SET
 *	  statements of its own: it is redacted by the same rules and shown as
 *	  a dollar-quoted literal.  Bodies in other languages are shown as they
 *	  are (their comments are not SQL's; a function's body is readable by
 *	  every role in pg_proc.prosrc anyway), unless a rule above hides them.
 *
 * Locating comments needs the end of each token, which the scanner does not
 * report: it is found here by the same lexical rules (quote doubling,
 * backslashes in E'' strings, string continuation across newlines, dollar
 * quotes), and checked: the text between a token's end and the next token
 * must be blanks and comments only.  A text that fails that check, or no
 * longer scans at all, is not shown.
 */
#include "core/core.h"

#include "common/keywords.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/scanner.h"
#include "parser/gram.h"		/* after the two above, which it needs */

#define REDACTED "'<redacted>'"
#define NOT_SHOWN "<statement not shown: it could not be redacted>"

/* bodies within bodies (a DO that creates a function) go this deep */
#define MAX_BODY_DEPTH 3

typedef enum TokenAction
{
	TOKEN_KEEP,					/* shown as written, less its comments */
	TOKEN_REDACT,				/* shown as '<redacted>' */
	TOKEN_DROP,					/* not shown: the sign of a redacted number */
	TOKEN_BODY					/* a routine body, redacted in turn */
} TokenAction;

typedef struct Token
{
	int			code;			/* the scanner's token code */
	int			start;			/* byte offset in the text */
	char	   *str;			/* value of identifiers and string literals */
	char	   *text;			/* the same with U& escapes decoded; NULL: malformed */
	TokenAction action;
} Token;

static char *redact_text(const char *sql, bool all_literals, int depth);

/* The scanner's blanks (scan.l {space}, {horiz_space}, {newline}) */
static inline bool
is_newline(char c)
{
	return c == '\n' || c == '\r';
}

static inline bool
is_horiz_space(char c)
{
	return c == ' ' || c == '\t' || c == '\f';
}

static inline bool
is_space(char c)
{
	return is_horiz_space(c) || is_newline(c);
}

static bool
comment_starts(const char *sql, int i, int len)
{
	return i + 1 < len &&
		((sql[i] == '-' && sql[i + 1] == '-') ||
		 (sql[i] == '/' && sql[i + 1] == '*'));
}

/*
 * The end of the comment at i: a -- comment ends before the newline, a
 * slash-star comment after the star-slash that closes it (they nest).
 * -1 if it is not closed.
 */
static int
comment_end(const char *sql, int i, int len)
{
	int			depth = 0;

	if (sql[i] == '-')
	{
		while (i < len && !is_newline(sql[i]))
			i++;
		return i;
	}
	for (i += 2; i < len; i++)
	{
		if (sql[i] == '/' && i + 1 < len && sql[i + 1] == '*')
		{
			depth++;
			i++;
		}
		else if (sql[i] == '*' && i + 1 < len && sql[i + 1] == '/')
		{
			if (depth == 0)
				return i + 2;
			depth--;
			i++;
		}
	}
	return -1;
}

/*
 * Appends sql[from, to), which must be blanks and comments only (false if
 * it is not), without its comments.  A comment goes with the blanks before
 * it, and with those after it up to a line's end; one that starts a line
 * goes with the blanks after it too, and with the line's end if nothing
 * else is on that line, so that neither empty lines nor trailing blanks are
 * left.  Between two tokens at least one space stays.  leading: the text
 * starts at from; trailing: it ends at to.
 */
static bool
append_without_comments(StringInfo out, const char *sql, int from, int to,
						bool leading, bool trailing)
{
	int			len_before = out->len;
	int			blank_start = -1;	/* blanks not yet copied: [blank_start, blank_end) */
	int			blank_end = -1;
	bool		at_line_start = leading;
	bool		removed_on_line = false;
	bool		removed = false;
	int			i = from;

	while (i < to)
	{
		if (is_horiz_space(sql[i]))
		{
			if (blank_start >= 0 && blank_end != i)
				appendBinaryStringInfo(out, sql + blank_start, blank_end - blank_start);
			if (blank_start < 0 || blank_end != i)
				blank_start = i;
			blank_end = ++i;
		}
		else if (is_newline(sql[i]))
		{
			if (blank_start >= 0 && !removed_on_line)
				appendBinaryStringInfo(out, sql + blank_start, blank_end - blank_start);
			blank_start = -1;
			appendStringInfoChar(out, sql[i++]);
			at_line_start = true;
			removed_on_line = false;
		}
		else if (comment_starts(sql, i, to))
		{
			int			end = comment_end(sql, i, to);
			int			j;

			if (end < 0)
				return false;	/* runs into the next token: we lexed wrong */
			removed = true;
			if (!at_line_start)
			{
				blank_start = -1;
				removed_on_line = true;
				i = end;
				continue;
			}
			for (j = end; j < to && is_horiz_space(sql[j]); j++)
				;
			if (j < to && is_newline(sql[j]))
			{
				/* the comment was the line: drop it, \r\n included */
				blank_start = -1;
				i = j + 1;
				if (sql[j] == '\r' && i < to && sql[i] == '\n')
					i++;
			}
			else if (j == to && trailing)
			{
				blank_start = -1;
				i = j;
			}
			else
				i = j;			/* text follows: keep the indentation */
		}
		else
			return false;		/* not blank: we lexed wrong */
	}
	if (blank_start >= 0 && !(trailing && removed_on_line))
		appendBinaryStringInfo(out, sql + blank_start, blank_end - blank_start);
	if (removed && !leading && !trailing && out->len == len_before)
		appendStringInfoChar(out, ' ');
	return true;
}

/*
 * After the closing quote at p - 1 of a literal: the position of the quote
 * that continues it (scan.l {quotecontinue}: blanks and -- comments holding
 * at least one newline, then a quote), or -1.
 */
static int
continuation_quote(const char *sql, int p, int len)
{
	while (p < len && (is_horiz_space(sql[p]) ||
					   (sql[p] == '-' && p + 1 < len && sql[p + 1] == '-')))
		p = is_horiz_space(sql[p]) ? p + 1 : comment_end(sql, p, len);
	if (p >= len || !is_newline(sql[p]))
		return -1;
	p++;
	for (;;)
	{
		if (p < len && is_space(sql[p]))
			p++;
		else if (p + 1 < len && sql[p] == '-' && sql[p + 1] == '-')
		{
			p = comment_end(sql, p, len);
			if (p >= len)
				return -1;		/* a comment must end with a newline here */
			p++;
		}
		else
			break;
	}
	return p < len && sql[p] == '\'' ? p : -1;
}

/*
 * The end of the quoted literal or identifier whose opening quote is at q,
 * appending its text to out (if not NULL) less the comments between the
 * parts of a continued literal.  -1 if it does not end.
 */
static int
quoted_end(const char *sql, int start, int q, int len, bool backslashes,
		   bool doubled, StringInfo out)
{
	char		quote = sql[q];
	int			copied = start;
	int			i = q + 1;

	for (;;)
	{
		int			next;

		if (i >= len)
			return -1;
		if (sql[i] == '\\' && backslashes)
		{
			i += 2;
			continue;
		}
		if (sql[i] != quote)
		{
			i++;
			continue;
		}
		if (doubled && i + 1 < len && sql[i + 1] == quote)
		{
			i += 2;
			continue;
		}
		i++;					/* past the closing quote */
		next = quote == '\'' ? continuation_quote(sql, i, len) : -1;
		if (next < 0)
			break;
		if (out)
		{
			appendBinaryStringInfo(out, sql + copied, i - copied);
			if (!append_without_comments(out, sql, i, next, false, false))
				return -1;
			copied = next;
		}
		i = next + 1;
	}
	if (out)
		appendBinaryStringInfo(out, sql + copied, i - copied);
	return i;
}

/*
 * The end of the token that starts at start, appending its text to out (if
 * not NULL) less any comment inside it; -1 if it cannot be found.  limit is
 * where the next token starts.
 */
static int
token_end(const char *sql, const Token *t, int limit, int len, bool scs,
		  StringInfo out)
{
	const char *s = sql + t->start;
	int			end;

	switch (t->code)
	{
		case SCONST:
			if (s[0] == '$')
			{
				const char *close = strchr(s + 1, '$');
				const char *found;
				char	   *tag;

				if (close == NULL)
					return -1;
				tag = pnstrdup(s, close - s + 1);
				found = strstr(close + 1, tag);
				if (found == NULL)
					return -1;
				end = found + strlen(tag) - sql;
				pfree(tag);
				break;
			}
			if (s[0] == '\'')
				return quoted_end(sql, t->start, t->start, len, !scs, true, out);
			if ((s[0] == 'e' || s[0] == 'E') && s[1] == '\'')
				return quoted_end(sql, t->start, t->start + 1, len, true, true, out);
			return -1;
		case BCONST:
		case XCONST:
			if (s[0] == '\0' || s[1] != '\'')
				return -1;
			return quoted_end(sql, t->start, t->start + 1, len, false, false, out);
		case USCONST:
		case UIDENT:
			if ((s[0] != 'u' && s[0] != 'U') || s[1] != '&' ||
				s[2] != (t->code == USCONST ? '\'' : '"'))
				return -1;
			return quoted_end(sql, t->start, t->start + 2, len, false, true, out);
		case IDENT:
			if (s[0] == '"')
				return quoted_end(sql, t->start, t->start, len, false, true, out);
			/* FALLTHROUGH */
		default:
			/* the scanner cuts words, numbers and operators at blanks and comments */
			for (end = t->start; end < limit && !is_space(sql[end]) &&
				 !comment_starts(sql, end, len); end++)
				;
			break;
	}
	if (out)
		appendBinaryStringInfo(out, s, end - t->start);
	return end;
}

/* Does s contain needle (lower case), in any case? */
static bool
contains_ci(const char *s, const char *needle)
{
	size_t		n = strlen(needle);

	for (; *s; s++)
		if (pg_strncasecmp(s, needle, n) == 0)
			return true;
	return false;
}

static bool
is_constant(int code)
{
	return code == SCONST || code == USCONST || code == BCONST ||
		code == XCONST || code == ICONST || code == FCONST;
}

/*
 * Can the token be a value of SET: a word (keyword or identifier) or a
 * constant, not punctuation or an operator?
 */
static bool
is_value(int code)
{
	switch (code)
	{
		case Op:
		case PARAM:
		case TYPECAST:
		case DOT_DOT:
		case COLON_EQUALS:
		case EQUALS_GREATER:
		case LESS_EQUALS:
		case GREATER_EQUALS:
		case NOT_EQUALS:
			return false;
		default:
			return code >= 256; /* below: one-character tokens */
	}
}

/*
 * Is the word password (the keyword, or a plain or quoted identifier) at
 * t?  Only IDENT carries a string among words: the scanner fills the value
 * union differently per token, or not at all.
 */
static bool
is_password_word(const Token *t)
{
	return t->code == PASSWORD || (t->code == IDENT && strcmp(t->str, "password") == 0);
}

/*
 * The text of the U&'' literal or U&"" identifier t[i], its escapes decoded
 * as far as matters here (what is not ASCII becomes '?'), or NULL if they
 * are malformed.  The core scanner leaves the decoding to the grammar.
 */
static char *
unicode_decoded(const Token *t, int i, int n)
{
	const char *raw = t[i].str;
	char		escape = '\\';
	StringInfoData buf;

	if (i + 1 < n && t[i + 1].code == UESCAPE)
	{
		if (i + 2 >= n || t[i + 2].code != SCONST || strlen(t[i + 2].str) != 1)
			return NULL;
		escape = t[i + 2].str[0];
	}
	initStringInfo(&buf);
	while (*raw)
	{
		int			digits;
		uint32		c = 0;

		if (*raw != escape)
		{
			appendStringInfoChar(&buf, *raw++);
			continue;
		}
		if (raw[1] == escape)
		{
			appendStringInfoChar(&buf, escape);
			raw += 2;
			continue;
		}
		digits = raw[1] == '+' ? 6 : 4;
		raw += raw[1] == '+' ? 2 : 1;
		for (; digits > 0; digits--, raw++)
		{
			if (!isxdigit((unsigned char) *raw))
				return NULL;
			c = c * 16 + (isdigit((unsigned char) *raw) ? *raw - '0' :
						  pg_ascii_tolower((unsigned char) *raw) - 'a' + 10);
		}
		appendStringInfoChar(&buf, c > 0 && c < 128 ? (char) c : '?');
	}
	return buf.data;
}

/*
 * May the statement t[0..n) set a tenancy.aws_* setting?  Said yes to
 * generously (see the file header): a no lets a secret through.
 */
static bool
may_set_aws_setting(const Token *t, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		const char *text = t[i].text;

		switch (t[i].code)
		{
			case SCONST:
			case USCONST:
				if (text == NULL || contains_ci(text, "aws_"))
					return true;
				break;
			case IDENT:
			case UIDENT:
				if (text == NULL || contains_ci(text, "tenancy.aws_") ||
					pg_strcasecmp(text, "set_config") == 0 ||
					pg_strcasecmp(text, "pg_settings") == 0)
					return true;
				/* tenancy . aws_..., in any case: GUC names ignore it */
				if (pg_strncasecmp(text, "aws_", 4) == 0 && i >= 2 &&
					t[i - 1].code == '.' &&
					(t[i - 2].code == IDENT || t[i - 2].code == UIDENT) &&
					(t[i - 2].text == NULL || pg_strcasecmp(t[i - 2].text, "tenancy") == 0))
					return true;
				break;
			default:
				break;
		}
	}
	return false;
}

/*
 * The index of the body of a DO or CREATE [OR REPLACE] FUNCTION / PROCEDURE
 * statement t[0..n) in LANGUAGE sql or plpgsql, or -1.
 */
static int
routine_body(const Token *t, int n)
{
	bool		is_do;
	const char *language = NULL;
	int			language_at = -1;
	int			body = -1;
	int			depth = 0;
	int			i = 1;

	if (n == 0)
		return -1;
	is_do = t[0].code == DO;
	if (!is_do)
	{
		if (t[0].code != CREATE)
			return -1;
		if (n > 2 && t[1].code == OR && t[2].code == REPLACE)
			i = 3;
		if (i >= n || (t[i].code != FUNCTION && t[i].code != PROCEDURE))
			return -1;
	}
	for (i = 0; i < n; i++)
	{
		if (t[i].code == '(')
			depth++;
		else if (t[i].code == ')')
			depth--;
		else if (depth > 0)
			continue;
		else if (t[i].code == LANGUAGE && i + 1 < n)
		{
			language_at = i + 1;
			if (t[i + 1].code == SQL_P)
				language = "sql";
			else if (t[i + 1].code == IDENT || t[i + 1].code == SCONST)
				language = t[i + 1].str;
			else
				language = "";	/* some other keyword */
		}
		else if (body < 0 && t[i].code == SCONST && i != language_at &&
				 (is_do || t[i - 1].code == AS))
			body = i;
	}
	if (language == NULL)
		language = is_do ? "plpgsql" : "sql";
	if (pg_strcasecmp(language, "sql") != 0 && pg_strcasecmp(language, "plpgsql") != 0)
		return -1;
	return body;
}

/*
 * Decides what is shown of each token of the statement t[0..n), which ends
 * before a top-level ';' or at the end of the text.
 */
static void
mark_statement(Token *t, int n, bool all_literals)
{
	bool		sets_aws = may_set_aws_setting(t, n);
	int			body = routine_body(t, n);
	int			depth = 0;
	int			options_depth = -1; /* inside OPTIONS (...) while depth >= it */
	int			i;

	for (i = 0; i < n; i++)
	{
		int			code = t[i].code;

		if (is_constant(code))
		{
			if (sets_aws)
				t[i].action = TOKEN_REDACT;
			else if ((code == SCONST || code == USCONST) &&
					 (all_literals || (options_depth >= 0 && depth >= options_depth) ||
					  (i > 0 && (is_password_word(&t[i - 1]) || t[i - 1].code == CONNECTION)) ||
					  t[i].text == NULL || contains_ci(t[i].text, "password")))
				t[i].action = TOKEN_REDACT;
			else if (i == body)
				t[i].action = TOKEN_BODY;
		}

		/* SET name TO|= value[, value ...]: values of any kind */
		if (sets_aws && depth == 0 && (code == TO || code == '='))
		{
			int			j = i + 1;

			while (j < n)
			{
				if ((t[j].code == '-' || t[j].code == '+') && j + 1 < n &&
					(t[j + 1].code == ICONST || t[j + 1].code == FCONST))
					t[j++].action = TOKEN_DROP;
				if (!is_value(t[j].code) || t[j].code == DEFAULT)
					break;
				t[j].action = TOKEN_REDACT;
				if (j + 1 >= n || t[j + 1].code != ',')
					break;
				j += 2;
			}
		}

		if (code == '(' || code == '[')
		{
			depth++;
			if (i > 0 && t[i - 1].code == OPTIONS && code == '(' && options_depth < 0)
				options_depth = depth;
		}
		else if ((code == ')' || code == ']') && depth > 0)
		{
			depth--;
			if (depth < options_depth)
				options_depth = -1;
		}
	}
}

/*
 * Appends the body literal t, redacted in turn, as a dollar-quoted literal
 * (with its own tag if that still fits); as it was written if redaction
 * changed nothing, '<redacted>' if the body cannot be redacted.  Returns
 * the end of the literal, or -1.
 */
static int
append_body(StringInfo out, const char *sql, const Token *t, int limit,
			int len, bool scs, int depth)
{
	int			end = token_end(sql, t, limit, len, scs, NULL);
	char	   *body;
	char	   *tag;
	int			attempt = 0;

	if (end < 0)
		return -1;
	body = depth < MAX_BODY_DEPTH ? redact_text(t->str, false, depth + 1) : NULL;
	if (body == NULL)
	{
		appendStringInfoString(out, REDACTED);
		return end;
	}
	if (strcmp(body, t->str) == 0)
		return token_end(sql, t, limit, len, scs, out);

	/* a tag the body does not hold, also where the body ends with '$' */
	if (sql[t->start] == '$')
		tag = pnstrdup(sql + t->start, strchr(sql + t->start + 1, '$') - (sql + t->start) + 1);
	else
		tag = pstrdup("$$");
	for (;;)
	{
		char	   *text = psprintf("%s%s", body, tag);

		if (strstr(text, tag) == text + strlen(body))
			break;
		tag = psprintf("$body%d$", ++attempt);
	}
	appendStringInfo(out, "%s%s%s", tag, body, tag);
	return end;
}

/*
 * The scanner's tokens of sql, or false if it does not scan (any more: it
 * was parsed with the settings of its time, e.g. standard_conforming_strings
 * before a SET in the same string changed it).
 */
static bool
scan_tokens(const char *sql, Token **tokens, int *ntokens, bool *scs)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	volatile bool scanned = true;

	PG_TRY();
	{
		core_yy_extra_type extra;
		core_yyscan_t scanner;
		core_YYSTYPE value;
		YYLTYPE		location;
		int			token;
		int			allocated = 64;
		int			n = 0;
		Token	   *t = palloc(allocated * sizeof(Token));

		scanner = scanner_init(sql, &extra, &ScanKeywords, ScanKeywordTokens);
		extra.escape_string_warning = false;	/* the statement was parsed already */
		*scs = extra.standard_conforming_strings;
		while ((token = core_yylex(&value, &location, scanner)) != 0)
		{
			if (n == allocated)
			{
				allocated *= 2;
				t = repalloc(t, allocated * sizeof(Token));
			}
			t[n].code = token;
			t[n].start = location;
			t[n].action = TOKEN_KEEP;
			t[n].str = (token == IDENT || token == UIDENT || token == SCONST ||
						token == USCONST) ? value.str : NULL;
			t[n].text = t[n].str;
			n++;
		}
		scanner_finish(scanner);
		*tokens = t;
		*ntokens = n;
	}
	PG_CATCH();
	{
		/* show none of it rather than fail the statement or show a secret */
		MemoryContextSwitchTo(oldcontext);
		FlushErrorState();
		scanned = false;
	}
	PG_END_TRY();
	return scanned;
}

/* sql as it may be shown, or NULL if it cannot be redacted. */
static char *
redact_text(const char *sql, bool all_literals, int depth)
{
	StringInfoData out;
	Token	   *t;
	int			n;
	int			len = strlen(sql);
	bool		scs;
	int			first = 0;
	int			level = 0;
	int			prev_end = 0;
	int			i;

	check_stack_depth();
	if (!scan_tokens(sql, &t, &n, &scs))
		return NULL;

	/* statements end at a ';' outside parentheses */
	for (i = 0; i < n; i++)
	{
		if (t[i].code == UIDENT || t[i].code == USCONST)
			t[i].text = unicode_decoded(t, i, n);
		if (t[i].code == '(')
			level++;
		else if (t[i].code == ')' && level > 0)
			level--;
		else if (t[i].code == ';' && level == 0)
		{
			mark_statement(t + first, i - first, all_literals);
			first = i + 1;
		}
	}
	mark_statement(t + first, n - first, all_literals);

	initStringInfo(&out);
	for (i = 0; i < n; i++)
	{
		int			limit = i + 1 < n ? t[i + 1].start : len;
		int			end = -1;

		if (!append_without_comments(&out, sql, prev_end, t[i].start, i == 0, false))
			return NULL;
		switch (t[i].action)
		{
			case TOKEN_KEEP:
				end = token_end(sql, &t[i], limit, len, scs, &out);
				break;
			case TOKEN_REDACT:
				appendStringInfoString(&out, REDACTED);
				end = token_end(sql, &t[i], limit, len, scs, NULL);
				break;
			case TOKEN_DROP:
				end = token_end(sql, &t[i], limit, len, scs, NULL);
				break;
			case TOKEN_BODY:
				end = append_body(&out, sql, &t[i], limit, len, scs, depth);
				break;
		}
		if (end < 0 || end > limit)
			return NULL;
		prev_end = end;
	}
	if (!append_without_comments(&out, sql, prev_end, len, n == 0, true))
		return NULL;
	return out.data;
}

/*
 * The text of a statement (or of several: see the file header) as the audit
 * log may show it.  Used for DDL the event triggers record, whose text the
 * extension did not write itself.
 */
char *
redact_statement(const char *sql, bool all_literals)
{
	char	   *shown = redact_text(sql, all_literals, 0);

	return shown ? shown : pstrdup(NOT_SHOWN);
}
