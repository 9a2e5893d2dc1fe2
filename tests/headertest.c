/* Compiles the public headers alone, with -pedantic: nothing else may leak in. */
#include <plinth/plinth.h>

int plinth_headertest(void);
int plinth_headertest(void)
{
	return PL_OK;
}
