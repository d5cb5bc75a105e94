/* Placeholder: the ctrack command-line tool is being written. */
#include <stdio.h>
int main(void)
{
    fputs("ctrack: not built yet\n", stderr);
    return 1;
}
