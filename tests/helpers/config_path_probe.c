/*
 * config_path_probe.c - prints the configuration path the shim would read in this process
 * (config_path() from shim/config.c, the very code the shim runs). Made setgid by a test to
 * show that OCSPSTAPLE_CONF is ignored in secure-execution mode.
 */
#include <stdio.h>

#include "config.h"

int main(void)
{
    puts(config_path());
    return 0;
}
