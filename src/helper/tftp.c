/*
 * The TFTP helper's parser (RFC 1350). A transfer starts with a read (RRQ,
 * opcode 1) or write request (WRQ, opcode 2) to the server's port 69; the
 * server answers from a new port of its choosing (the transfer identifier,
 * RFC 1350 section 4), so the reply is a new connection that the request
 * must announce. Like Linux's nf_conntrack_tftp.c, only the 2-byte opcode is
 * read: the file name and mode are not checked, and DATA, ACK and ERROR
 * packets announce nothing.
 */
#include "helper/helper.h"

int ct_helper_tftp_is_request(const uint8_t *p, size_t len)
{
    if (!p || len < 2)
        return 0;
    unsigned op = (unsigned)p[0] << 8 | p[1];
    return op == CT_TFTP_RRQ || op == CT_TFTP_WRQ;
}
