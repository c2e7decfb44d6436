# The Debian package (CPack DEB): tlsgated, tlsgatectl, the systemd unit with
# its sysusers.d and tmpfiles.d files, the example configuration and the man
# pages. Build it with `cpack -G DEB` in the build directory. It never ships
# a CA key: the gateway CA is created on the machine at first start.

set(TLSGATE_MAN_PAGES man/tlsgated.8 man/tlsgatectl.8 man/tlsgate.toml.5)
set(man_outputs)
foreach(page ${TLSGATE_MAN_PAGES})
  get_filename_component(name ${page} NAME)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${name})
  set(out ${CMAKE_BINARY_DIR}/man/${name}.gz)
  # -n: no name or time stamp inside, so the package is reproducible.
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/${page} > ${out}
    DEPENDS ${PROJECT_SOURCE_DIR}/${page}
    COMMENT "gzip ${name}" VERBATIM)
  list(APPEND man_outputs ${out})
  install(FILES ${out} DESTINATION share/man/man${section})
endforeach()
add_custom_target(man_pages ALL DEPENDS ${man_outputs})

install(FILES systemd/tlsgate.service DESTINATION lib/systemd/system)
install(FILES systemd/tlsgate.sysusers DESTINATION lib/sysusers.d RENAME tlsgate.conf)
install(FILES systemd/tlsgate.tmpfiles DESTINATION lib/tmpfiles.d RENAME tlsgate.conf)
install(FILES systemd/tlsgate.toml.example DESTINATION share/doc/tlsgate/examples)
# Absolute: logrotate reads /etc/logrotate.d only; dpkg keeps it as a conffile.
install(FILES systemd/tlsgate.logrotate DESTINATION /etc/logrotate.d RENAME tlsgate)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tlsgate)
set(CPACK_PACKAGE_VENDOR tlsgate)
set(CPACK_PACKAGE_CONTACT "tlsgate maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "transparent TLS inspection gateway for Linux routers")
set(CPACK_PACKAGE_DESCRIPTION
  "eBPF on the LAN interfaces bypasses or steers each TLS flow; an io_uring\n\
terminator validates the real server, forges a leaf signed by the gateway's\n\
own CA and relays the decrypted stream. tlsgatectl changes rules live.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-sysusers and systemd-tmpfiles run in postinst; tlsgated runs
# iptables-nft / ip6tables-nft for the NFQUEUE rule.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd (>= 247), iptables")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/cmake/debian/conffiles
  ${PROJECT_SOURCE_DIR}/cmake/debian/postinst
  ${PROJECT_SOURCE_DIR}/cmake/debian/prerm
  ${PROJECT_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
