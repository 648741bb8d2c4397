#pragma once
// Chat messages to a prompt. A Hugging Face chat template is a Jinja program and the server has no
// Jinja engine, so it recognises the template families DeepSeek and Qwen ship by their marker
// strings and renders each by the fixed rule below (always with the generation prompt), and refuses
// any other template with a message saying so. Rules (bos/eos: the tokenizer's tokens):
//   DeepSeek V2.5/V3/R1 (markers <｜User｜>, <｜Assistant｜>):
//     bos, the system prompt, then per message "<｜User｜>" + content or "<｜Assistant｜>" + content +
//     eos, then "<｜Assistant｜>". The system prompt: the system messages joined by "\n\n" where the
//     template joins them (V3-0324, R1-0528: it has `is_first_sp`), else the last one (V3, R1).
//     Where the template mentions "</think>" (R1), an assistant message's content is what follows
//     its last "</think>", and where its generation prompt is "<｜Assistant｜><think>" (R1-0528),
//     the prompt ends in "<｜Assistant｜><think>\n".
//   DeepSeek LLM / V2 (markers 'User: ', 'Assistant:'):
//     bos, then per message system: content + "\n\n", user: "User: " + content + "\n\n",
//     assistant: "Assistant: " + content + eos; then "Assistant:".
//   ChatML, Qwen (marker <|im_start|>):
//     per message "<|im_start|>" + role + "\n" + content + "<|im_end|>\n", then
//     "<|im_start|>assistant\n". Where the template holds a literal default system message
//     ('<|im_start|>system\nYou are ...<|im_end|>\n': Qwen2, Qwen2.5), it goes first when the
//     conversation does not start with a system message.
//   No template at all (plain): per message role + ": " + content + "\n", then "assistant:".
// Tools, images and Qwen3's thinking switch are outside these rules (the API refuses other roles
// and non-text parts).
#include <string>
#include <vector>

namespace aidc {

struct ChatMessage {
  std::string role;  // system, user or assistant
  std::string content;
};

class ChatTemplate {
 public:
  // From the tokenizer_config.json chat template (empty: none) and the bos/eos token texts.
  ChatTemplate(const std::string& jinja, std::string bos, std::string eos);

  // Empty when the template is one of the supported forms; else why chat is refused.
  const std::string& refusal() const { return refusal_; }
  std::string render(const std::vector<ChatMessage>& messages) const;

 private:
  enum class Form { DeepSeekV3, DeepSeekLlm, ChatMl, Plain, Unsupported };
  std::string render_deepseek_v3(const std::vector<ChatMessage>& messages) const;

  Form form_ = Form::Plain;
  std::string bos_, eos_, refusal_;
  // DeepSeek V3/R1 variants (see above).
  bool joins_system_messages_ = false;
  bool drops_reasoning_ = false;
  bool opens_thinking_ = false;
  // ChatML: the template's default system message ("" when none).
  std::string default_system_;
};

}  // namespace aidc
