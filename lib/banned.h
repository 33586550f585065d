/* Functions that invite overflows or hidden state; using one is a compile error.  */
#ifndef HUSK_BANNED_H
#define HUSK_BANNED_H

#define HUSK_BANNED(func) sorry_##func##_is_banned_in_husk

#undef strcpy
#define strcpy(x, y) HUSK_BANNED (strcpy)
#undef strcat
#define strcat(x, y) HUSK_BANNED (strcat)
#undef strncpy
#define strncpy(x, y, n) HUSK_BANNED (strncpy)
#undef strncat
#define strncat(x, y, n) HUSK_BANNED (strncat)
#undef strtok
#define strtok(x, y) HUSK_BANNED (strtok)
#undef sprintf
#define sprintf(...) HUSK_BANNED (sprintf)
#undef vsprintf
#define vsprintf(...) HUSK_BANNED (vsprintf)
#undef gets
#define gets(x) HUSK_BANNED (gets)
#undef alloca
#define alloca(x) HUSK_BANNED (alloca)
#undef atoi
#define atoi(x) HUSK_BANNED (atoi)
#undef atol
#define atol(x) HUSK_BANNED (atol)

#endif
