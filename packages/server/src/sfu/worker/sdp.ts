/**
 * werift writes the m-lines of streams that went away (a=inactive) with port 0, which browsers
 * read as "rejected": Chrome then stops those transceivers, and once every m-line of the
 * subscribe connection is rejected it tears the transport down, so media never comes back when
 * new streams arrive. An inactive m-line keeps the BUNDLE port placeholder 9 instead; a really
 * rejected m-line (port 0 without a=inactive) stays as it is.
 */
export function keepInactiveMlines(sdp: string): string {
  return sdp
    .split(/\r\n(?=m=)/)
    .map((section) =>
      /^m=\S+ 0 /.test(section) && /\r\na=inactive(\r\n|$)/.test(section)
        ? section.replace(/^(m=\S+) 0 /, '$1 9 ')
        : section,
    )
    .join('\r\n');
}
