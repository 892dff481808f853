/*
 * bcryptprimitives.dll for Wine 8.0 (Debian 12), which lacks it: Rust's standard library
 * (1.78 and later) draws randomness from ProcessPrng there and a Windows program fails to
 * start without it. Only for running the Windows build under Wine in scripts/windows-check;
 * never shipped. ProcessPrng over RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 *
 * x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
