#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "summary.h"
int main(int argc, char **argv)
{
    (void)argc; (void)argv;
    model m; error err;
    model_config c = {.depth = argc > 1 ? atoi(argv[1]) : 34, .width = 64, .clip = {16, 112, 112, 3}, .classes = 10, .batch = 1, .threads = 2};
    if (model_build(&m, &c, &err)) { fprintf(stderr, "%s\n", err.message); return 1; }
    summary_print(&m, stdout);
    model_free(&m);
    return 0;
}
