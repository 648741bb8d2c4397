#include "server/chat_template.h"

namespace aidc {
namespace {

bool contains(const std::string& text, const char* marker) { return text.find(marker) != std::string::npos; }

// The literal default system message of a ChatML template: the text between
// '<|im_start|>system\n' and '<|im_end|>' inside one Jinja string literal (no quote or expression
// between them); "" when the template has none (the system message comes from the conversation).
std::string chatml_default_system(const std::string& jinja) {
  const std::string open = "<|im_start|>system";
  for (std::size_t at = jinja.find(open); at != std::string::npos; at = jinja.find(open, at + 1)) {
    std::size_t from = at + open.size();
    if (jinja.compare(from, 2, "\\n") == 0) from += 2;  // the Jinja escape, as templates write it
    else if (jinja.compare(from, 1, "\n") == 0) from += 1;
    else continue;
    const std::size_t end = jinja.find("<|im_end|>", from);
    if (end == std::string::npos) break;
    const std::string text = jinja.substr(from, end - from);
    if (text.empty() || text.find_first_of("'\"{}+") != std::string::npos) continue;
    std::string unescaped;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == 'n') {
        unescaped += '\n';
        ++i;
      } else {
        unescaped += text[i];
      }
    }
    return unescaped;
  }
  return {};
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& jinja, std::string bos, std::string eos)
    : bos_(std::move(bos)), eos_(std::move(eos)) {
  if (jinja.empty()) {
    form_ = Form::Plain;
  } else if (contains(jinja, "<｜User｜>") && contains(jinja, "<｜Assistant｜>")) {
    form_ = Form::DeepSeekV3;
    joins_system_messages_ = contains(jinja, "is_first_sp");
    drops_reasoning_ = contains(jinja, "</think>");
    opens_thinking_ = contains(jinja, "<｜Assistant｜><think>");
  } else if (contains(jinja, "<|im_start|>")) {
    form_ = Form::ChatMl;
    default_system_ = chatml_default_system(jinja);
  } else if (contains(jinja, "User: ") && contains(jinja, "Assistant:")) {
    form_ = Form::DeepSeekLlm;
  } else {
    form_ = Form::Unsupported;
    refusal_ = "the model's chat template is none of the forms this server renders (DeepSeek, ChatML/Qwen); "
               "render the prompt yourself and send it to /v1/completions";
  }
}

std::string ChatTemplate::render_deepseek_v3(const std::vector<ChatMessage>& messages) const {
  std::string system;
  bool first_system = true;
  for (const ChatMessage& m : messages) {
    if (m.role != "system") continue;
    if (joins_system_messages_ && !first_system) system += "\n\n" + m.content;
    else system = m.content;
    first_system = false;
  }
  std::string out = bos_ + system;
  for (const ChatMessage& m : messages) {
    if (m.role == "user") {
      out += "<｜User｜>" + m.content;
    } else if (m.role == "assistant") {
      const std::size_t think_end = drops_reasoning_ ? m.content.rfind("</think>") : std::string::npos;
      out += "<｜Assistant｜>" +
             (think_end == std::string::npos ? m.content : m.content.substr(think_end + std::string("</think>").size())) +
             eos_;
    }
  }
  return out + (opens_thinking_ ? "<｜Assistant｜><think>\n" : "<｜Assistant｜>");
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages) const {
  std::string out;
  switch (form_) {
    case Form::DeepSeekV3:
      return render_deepseek_v3(messages);
    case Form::DeepSeekLlm:
      out = bos_;
      for (const ChatMessage& m : messages) {
        if (m.role == "system") out += m.content + "\n\n";
        else if (m.role == "user") out += "User: " + m.content + "\n\n";
        else if (m.role == "assistant") out += "Assistant: " + m.content + eos_;
      }
      return out + "Assistant:";
    case Form::ChatMl:
      if (!default_system_.empty() && (messages.empty() || messages.front().role != "system"))
        out = "<|im_start|>system\n" + default_system_ + "<|im_end|>\n";
      for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      return out + "<|im_start|>assistant\n";
    case Form::Plain:
      for (const ChatMessage& m : messages) out += m.role + ": " + m.content + "\n";
      return out + "assistant:";
    case Form::Unsupported:
      break;
  }
  return out;
}

}  // namespace aidc
