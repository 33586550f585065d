/* Go regular expressions (RE2 syntax, as Go's regexp package reads them) turned into POSIX
   extended ones with the same matches on UTF-8 text, for glibc's regcomp in the C locale.
   Docker matches .dockerignore patterns with Go expressions it builds from them
   (moby/patternmatcher); build/ignore.c builds the same text and runs it through here.  */
#ifndef HUSK_GOREGEX_H
#define HUSK_GOREGEX_H

/* The POSIX ERE for the Go expression RE (a NUL-terminated string): characters are whole UTF-8
   sequences ('.' and classes match one character, never a part of one; a byte that is not
   valid UTF-8 is matched only by itself as a literal), '.' does not match a newline, '^' and
   '$' are the start and end of the text.  Supported: literals, '.', '^', '$', classes with
   ranges (also beyond ASCII), negation, [:name:] and \d \s \w (and their negations), escapes
   of punctuation, \a \f \t \n \r \v, octal and \x escapes, \A, \z, \Q...\E, groups, *, + and ?
   (lazy forms too).  NULL, with *RET_MSG (allocated, one line), for what Go refuses (an
   unknown escape, a missing ']' or ')', a bad range, a repeated repetition) and for what
   has no ERE form here (\b, \B, \p, \P, \C, alternation, {n,m}, flags).  */
char *husk_goregex_to_ere (const char *re, char **ret_msg);

#endif
