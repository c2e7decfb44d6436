# bpf_skeleton(<name> <source.bpf.c> DEPENDS <headers...>)
# Compiles an eBPF object with clang (UAPI headers only) and generates
# <name>.skel.h with bpftool. Creates an INTERFACE target <name>_skel whose
# include directory holds the skeleton.
find_program(CLANG_BPF NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE TLSGATE_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT TLSGATE_MULTIARCH)
  set(TLSGATE_MULTIARCH "x86_64-linux-gnu")
endif()

function(bpf_skeleton name source)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/skel)
  set(obj ${out_dir}/${name}.bpf.o)
  set(skel ${out_dir}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${CLANG_BPF} -target bpf -O2 -g -Wall -Wextra -Werror
            -I${CMAKE_CURRENT_SOURCE_DIR} -I/usr/include/${TLSGATE_MULTIARCH}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${obj}
    DEPENDS ${source} ${ARG_DEPENDS}
    COMMENT "BPF ${source}")
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "bpftool gen skeleton ${name}")
  add_custom_target(${name}_skel_gen DEPENDS ${skel} ${obj})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${out_dir})
  set_property(GLOBAL PROPERTY ${name}_BPF_OBJECT ${obj})
endfunction()
